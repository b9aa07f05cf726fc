package coin

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jetpool/jetpool/internal/pow"
)

// parseBlock splits a raw block into header and transactions with ParseTx.
func parseBlock(t testing.TB, raw []byte) ([]byte, []TxInfo) {
	t.Helper()
	n, off, err := readVarInt(raw, 80)
	if err != nil {
		t.Fatal(err)
	}
	var txs []TxInfo
	for i := uint64(0); i < n; i++ {
		info, err := ParseTx(raw[off:])
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		txs = append(txs, info)
		off += info.Size
	}
	if off != len(raw) {
		t.Fatalf("%d trailing bytes", len(raw)-off)
	}
	return raw[:80], txs
}

func readHexFile(t testing.TB, name string) []byte {
	t.Helper()
	s, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(s)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMerkleBlock100000(t *testing.T) {
	header, txs := parseBlock(t, readHexFile(t, "block-100000.hex"))
	want := []string{
		"8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
		"fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
		"6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
		"e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
	}
	if len(txs) != len(want) {
		t.Fatalf("%d transactions", len(txs))
	}
	ids := make([]Hash, len(txs))
	for i, tx := range txs {
		if tx.TxID.String() != want[i] || tx.HasWitness || tx.WTxID != tx.TxID {
			t.Fatalf("tx %d: %+v, want txid %s", i, tx, want[i])
		}
		ids[i] = tx.TxID
	}
	const root = "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766"
	if got := MerkleRoot(ids); got.String() != root {
		t.Fatalf("MerkleRoot = %s, want %s", got, root)
	}
	if Hash(header[36:68]).String() != root {
		t.Fatal("header does not carry the merkle root")
	}
	branch := MerkleBranch(ids[1:])
	if len(branch) != 2 || branch[0] != ids[1] || branch[1] != Hash(pow.SHA256dPair((*[32]byte)(&ids[2]), (*[32]byte)(&ids[3]))) {
		t.Fatalf("branch %v", branch)
	}
	if got := MerkleRootFromBranch(ids[0], branch); got.String() != root {
		t.Fatalf("root from branch = %s", got)
	}
}

// TestMerkleBranchSizes checks the branch against the full tree for every
// transaction count up to 70 (odd levels duplicate their last hash).
func TestMerkleBranchSizes(t *testing.T) {
	for n := 0; n <= 70; n++ {
		ids := make([]Hash, n+1)
		for i := range ids {
			ids[i] = Hash(pow.SHA256d([]byte{byte(i), byte(n)}))
		}
		branch := MerkleBranch(ids[1:])
		wantLen := 0
		for 1<<wantLen < n+1 {
			wantLen++
		}
		if len(branch) != wantLen {
			t.Fatalf("n=%d: branch of %d, want %d", n, len(branch), wantLen)
		}
		if got, want := MerkleRootFromBranch(ids[0], branch), MerkleRoot(ids); got != want {
			t.Fatalf("n=%d: root from branch %s, full tree %s", n, got, want)
		}
	}
	if MerkleRoot(nil) != (Hash{}) {
		t.Fatal("root of nothing is not zero")
	}
}

func TestWitnessCommitment(t *testing.T) {
	// A block with only a coinbase: the witness root is the zero wtxid,
	// the commitment SHA256d(64 zero bytes), as regtest block 1 carries.
	const want = "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9"
	if got := hex.EncodeToString(WitnessCommitmentScript(WitnessCommitment(nil))); got != want {
		t.Fatalf("empty block commitment script = %s, want %s", got, want)
	}
}

func TestMerkleRootFromBranchDoesNotAllocate(t *testing.T) {
	branch := make([]Hash, 12)
	if a := testing.AllocsPerRun(50, func() { _ = MerkleRootFromBranch(Hash{}, branch) }); a != 0 {
		t.Fatalf("allocs %v", a)
	}
}
