package btc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/localsvc"
)

// The btcd integration test uses $JETPOOL_BTCD when set, else the pinned
// btcd that localsvc installs (go install into the shared bin dir); it never
// skips. With -btcd.update it rewrites the getblocktemplate replies in testdata.
var updateBtcd = flag.Bool("btcd.update", false, "rewrite testdata/regtest-gbt-*.json from a live btcd")

func btcdBinary(t *testing.T) string {
	if p := os.Getenv("JETPOOL_BTCD"); p != "" {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := localsvc.EnsureGoBinary(ctx, localsvc.BinaryOptions{Pkg: localsvc.BtcdPkg, Version: localsvc.BtcdVersion, Name: "btcd"})
	if err != nil {
		t.Fatalf("btcd: %v", err)
	}
	return p
}

type rpcClient struct {
	url  string
	http *http.Client
}

func (c *rpcClient) call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "1.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth("jetpool", "jetpool")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d: %w", method, resp.StatusCode, err)
	}
	if out.Error != nil {
		return nil, fmt.Errorf("%s: rpc error %d: %s", method, out.Error.Code, out.Error.Message)
	}
	return out.Result, nil
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startBtcd starts a regtest btcd mining to miningAddr and returns its RPC
// client; the node is stopped when the test ends.
func startBtcd(t *testing.T, bin, miningAddr string) *rpcClient {
	dir := t.TempDir()
	conf := filepath.Join(dir, "btcd.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rpcPort := freePort(t)
	cmd := exec.Command(bin, "--regtest", "--configfile="+conf,
		"--datadir="+filepath.Join(dir, "data"), "--logdir="+filepath.Join(dir, "log"),
		"--rpcuser=jetpool", "--rpcpass=jetpool", "--notls",
		"--rpclisten=127.0.0.1:"+strconv.Itoa(rpcPort),
		"--listen=127.0.0.1:"+strconv.Itoa(freePort(t)),
		"--miningaddr="+miningAddr)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("btcd output:\n%s", logs.String())
		}
	})
	c := &rpcClient{url: fmt.Sprintf("http://127.0.0.1:%d", rpcPort), http: &http.Client{Timeout: 30 * time.Second}}
	ctx := context.Background()
	for i := 0; ; i++ {
		if _, err := c.call(ctx, "getblockcount"); err == nil {
			return c
		} else if i == 300 {
			t.Fatalf("btcd RPC not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mineAndSubmit builds a job from tpl with our code, grinds a nonce, builds
// the block and submits it; it fails the test unless btcd accepts it as the
// new tip.
func mineAndSubmit(t *testing.T, ctx context.Context, rpc *rpcClient, c *Coin, tpl *coin.Template, payout []byte) *coin.Block {
	t.Helper()
	job, err := c.NewJob(tpl, coin.JobOptions{JobID: "it", PayoutScript: payout, PoolTag: "/jetpool/"})
	if err != nil {
		t.Fatal(err)
	}
	sub := coin.Submission{Extranonce1: []byte{0xde, 0xad, 0xbe, 0xef}, Extranonce2: []byte{0, 0, 0, 1}, NTime: job.NTime, Version: job.Version}
	var res coin.ShareResult
	for nonce := uint32(0); ; nonce++ {
		sub.Nonce = nonce
		if err := job.Check(c.Hasher(), &sub, &job.NetworkTarget, &res); err != nil {
			t.Fatal(err)
		}
		if res.MeetsNetwork {
			break
		}
		if nonce == 10000 {
			t.Fatal("no regtest solution in 10000 nonces")
		}
	}
	blk, err := c.BuildBlock(job, tpl, sub)
	if err != nil {
		t.Fatal(err)
	}
	out, err := rpc.call(ctx, "submitblock", blk.Hex())
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "null" {
		t.Fatalf("height %d: submitblock answered %s", tpl.Height, out)
	}
	best, err := rpc.call(ctx, "getbestblockhash")
	if err != nil {
		t.Fatal(err)
	}
	if string(best) != strconv.Quote(blk.Hash.String()) {
		t.Fatalf("height %d: best block %s, submitted %s", tpl.Height, best, blk.Hash)
	}
	return blk
}

func getTemplate(t *testing.T, ctx context.Context, rpc *rpcClient, c *Coin) (json.RawMessage, *coin.Template) {
	t.Helper()
	raw, err := rpc.call(ctx, "getblocktemplate", map[string]any{"rules": c.TemplateRules()})
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := c.ParseTemplate(raw)
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return raw, tpl
}

// TestBtcdRegtest mines blocks built by this package on a real btcd:
// heights 1..17 (every OP_N height and the first pushed one), then a block
// with two chained segwit transactions whose witness commitment btcd
// supplies and this package recomputes.
func TestBtcdRegtest(t *testing.T) {
	bin := btcdBinary(t)
	ctx := context.Background()
	c, err := New("regtest")
	if err != nil {
		t.Fatal(err)
	}
	keyBytes := sha256.Sum256([]byte("jetpool regtest key"))
	priv, pub := btcec.PrivKeyFromBytes(keyBytes[:])
	wpkh, err := address.NewAddressWitnessPubKeyHash(address.Hash160(pub.SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	payout, err := c.ValidateAddress(wpkh.EncodeAddress())
	if err != nil {
		t.Fatal(err)
	}
	rpc := startBtcd(t, bin, wpkh.EncodeAddress())

	// Height 1: btcd will not serve a template before the first block, so
	// the template is written here the way a node would.
	genesis := chaincfg.RegressionNetParams.GenesisHash
	first := fmt.Sprintf(`{"version":536870912,"previousblockhash":%q,"transactions":[],"coinbasevalue":5000000000,"bits":"207fffff","height":1,"curtime":%d,"mintime":%d}`,
		genesis.String(), time.Now().Unix(), chaincfg.RegressionNetParams.GenesisBlock.Header.Timestamp.Unix()+1)
	tpl, err := c.ParseTemplate([]byte(first))
	if err != nil {
		t.Fatal(err)
	}
	blocks := []*coin.Block{mineAndSubmit(t, ctx, rpc, c, tpl, payout)}
	for h := int64(2); h <= 17; h++ {
		raw, tpl := getTemplate(t, ctx, rpc, c)
		if tpl.Height != h {
			t.Fatalf("template height %d, want %d", tpl.Height, h)
		}
		if h == 2 && *updateBtcd {
			writeTestdata(t, "regtest-gbt-empty.json", raw)
		}
		blocks = append(blocks, mineAndSubmit(t, ctx, rpc, c, tpl, payout))
	}

	// Mature the coinbase of block 1 (ours) and spend it with witness.
	if _, err := rpc.call(ctx, "generate", 100); err != nil {
		t.Fatal(err)
	}
	var cb wire.MsgTx
	if err := cb.Deserialize(bytes.NewReader(blocks[0].Raw[81:])); err != nil {
		t.Fatal(err)
	}
	tx1 := spend(t, priv, payout, cb.TxHash(), 0, cb.TxOut[0].Value, [][]byte{
		{0x51, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}, // P2TR
		{0x76, 0xa9, 0x14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 0x88, 0xac},                               // P2PKH
	})
	tx2 := spend(t, priv, payout, tx1.TxHash(), 2, tx1.TxOut[2].Value, nil)
	for _, tx := range []*wire.MsgTx{tx1, tx2} {
		var b bytes.Buffer
		if err := tx.Serialize(&b); err != nil {
			t.Fatal(err)
		}
		if _, err := rpc.call(ctx, "sendrawtransaction", hex.EncodeToString(b.Bytes())); err != nil {
			t.Fatal(err)
		}
	}
	raw, tpl := getTemplate(t, ctx, rpc, c)
	if len(tpl.Transactions) != 2 || !tpl.HasWitnessTx {
		t.Fatalf("template has %d transactions (witness %v), want the 2 segwit spends", len(tpl.Transactions), tpl.HasWitnessTx)
	}
	var j struct {
		Commitment string `json:"default_witness_commitment"`
	}
	if err := json.Unmarshal(raw, &j); err != nil || len(j.Commitment) != 64 {
		t.Fatalf("btcd default_witness_commitment %q (%v)", j.Commitment, err)
	}
	wtxids := []coin.Hash{coin.Hash(tx1.WitnessHash()), coin.Hash(tx2.WitnessHash())}
	if got := coin.WitnessCommitment(wtxids); hex.EncodeToString(got[:]) != j.Commitment {
		t.Fatalf("WitnessCommitment = %x, btcd says %s", got, j.Commitment)
	}
	if *updateBtcd {
		writeTestdata(t, "regtest-gbt-witness.json", raw)
	}
	blk := mineAndSubmit(t, ctx, rpc, c, tpl, payout)
	var msg wire.MsgBlock
	if err := msg.Deserialize(bytes.NewReader(blk.Raw)); err != nil {
		t.Fatal(err)
	}
	if len(msg.Transactions) != 3 || msg.Transactions[1].TxHash() != tx1.TxHash() || msg.Transactions[2].TxHash() != tx2.TxHash() {
		t.Fatalf("mined block holds %d transactions", len(msg.Transactions))
	}
}

// spend signs a P2WPKH spend of one output of value sats: 1 BTC to each of
// extra, the rest less a 10000 sat fee back to payout (the last output).
func spend(t *testing.T, priv *btcec.PrivateKey, payout []byte, prev chainhash.Hash, index uint32, value int64, extra [][]byte) *wire.MsgTx {
	t.Helper()
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&prev, index), nil, nil))
	rest := value - 10000
	for _, s := range extra {
		tx.AddTxOut(wire.NewTxOut(100_000_000, s))
		rest -= 100_000_000
	}
	tx.AddTxOut(wire.NewTxOut(rest, payout))
	fetcher := txscript.NewCannedPrevOutputFetcher(payout, value)
	wit, err := txscript.WitnessSignature(tx, txscript.NewTxSigHashes(tx, fetcher), 0, value, payout, txscript.SigHashAll, priv, true)
	if err != nil {
		t.Fatal(err)
	}
	tx.TxIn[0].Witness = wit
	return tx
}

func writeTestdata(t *testing.T, name string, raw json.RawMessage) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	if err := os.WriteFile(filepath.Join("testdata", name), pretty.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote testdata/%s", name)
}
