package stratum

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reverse returns b reversed (display order ⇄ header order for hashes).
func reverse(b []byte) []byte {
	r := make([]byte, len(b))
	for i := range b {
		r[len(b)-1-i] = b[i]
	}
	return r
}

// A real mining.notify from public-pool's recording of a bitaxe session on
// testnet3, for the template whose previousblockhash (display order) is
// 00000000000000022246451e9af7ac4f8bff2527d223f6e623740e92171592f2 and whose
// first transaction has txid a174b99a87c899e66854ba6f101799ac852ef588ec69299846875e9d64355317.
const publicPoolNotify = `{"id":null,"method":"mining.notify","params":["1","171592f223740e92d223f6e68bff25279af7ac4f2246451e0000000200000000","02000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1903c943255c7075626c69632d706f6f6c5c","ffffffff037a90000000000000160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc3b0f250000000000160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc0000000000000000266a24aa21a9edbd3d1d916aa0b57326a2d88ebe1b68a1d7c48585f26d8335fe6a94b62755f64c00000000",["175335649d5e8746982969ec88f52e85ac9917106fba5468e699c8879ab974a1","d5644ab3e708c54cd68dc5aedc92b8d3037449687f92ec41ed6e37673d969d4a","5c9ec187517edc0698556cca5ce27e54c96acb014770599ed9df4d4937fbf2b0"],"20000000","192495f8","64b3f3ec",false]}`

func TestParseNotifyRealPool(t *testing.T) {
	m, err := DecodeMessage([]byte(publicPoolNotify))
	if err != nil || m.Method != MethodNotify {
		t.Fatalf("decode: %v %q", err, m.Method)
	}
	n, err := ParseNotify(m.Params)
	if err != nil {
		t.Fatal(err)
	}
	// The word-swapped Stratum prevhash must come back as the node's hash.
	if got := hex.EncodeToString(reverse(n.PrevHash[:])); got != "00000000000000022246451e9af7ac4f8bff2527d223f6e623740e92171592f2" {
		t.Errorf("prevhash (display) = %s", got)
	}
	// Merkle branch entries are header order: the first is the first txid reversed.
	if got := hex.EncodeToString(reverse(n.MerkleBranch[0][:])); got != "a174b99a87c899e66854ba6f101799ac852ef588ec69299846875e9d64355317" {
		t.Errorf("branch[0] (display) = %s", got)
	}
	if n.JobID != "1" || n.Version != 0x20000000 || n.NBits != 0x192495f8 || n.NTime != 0x64b3f3ec || n.CleanJobs {
		t.Errorf("fields = %q %08x %08x %08x %v", n.JobID, n.Version, n.NBits, n.NTime, n.CleanJobs)
	}
	if len(n.Coinb1) != 59 || len(n.MerkleBranch) != 3 {
		t.Errorf("coinb1 %d bytes, branch %d", len(n.Coinb1), len(n.MerkleBranch))
	}
	// Re-encoding gives the pool's params back byte for byte.
	out := AppendNotify(nil, &n)
	var a, b struct{ Params json.RawMessage }
	if json.Unmarshal(out, &a) != nil || json.Unmarshal([]byte(publicPoolNotify), &b) != nil {
		t.Fatalf("re-encoded line is not JSON: %s", out)
	}
	if !bytes.Equal(a.Params, b.Params) {
		t.Errorf("re-encoded params\n%s\nwant\n%s", a.Params, b.Params)
	}
}

func TestParseNotifyErrors(t *testing.T) {
	good := []string{`"j"`, `"` + strings.Repeat("00", 32) + `"`, `"01"`, `"02"`, `[]`, `"20000000"`, `"207fffff"`, `"64b3f3ec"`, `true`}
	with := func(i int, v string) string {
		p := append([]string(nil), good...)
		p[i] = v
		return "[" + strings.Join(p, ",") + "]"
	}
	runParamCases(t, []paramCase{
		{"eight params", "[" + strings.Join(good[:8], ",") + "]", nil, "expected 9 params, got 8"},
		{"empty job", with(0, `""`), nil, "job id must not be empty"},
		{"prevhash short", with(1, `"`+strings.Repeat("00", 31)+`"`), nil, "prevhash must be 32 bytes"},
		{"prevhash not hex", with(1, `"`+strings.Repeat("zz", 32)+`"`), nil, "prevhash is not hex"},
		{"coinb1 odd", with(2, `"012"`), nil, "coinb1 must have an even number of hex digits"},
		{"branch not array", with(4, `"00"`), nil, "merkle branch must be an array"},
		{"branch entry short", with(4, `["00"]`), nil, "merkle branch entry 0 must be 32 bytes"},
		{"branch too long", with(4, "["+strings.Repeat(`"`+strings.Repeat("00", 32)+`",`, MaxMerkleBranch)+`"`+strings.Repeat("00", 32)+`"]`), nil, "merkle branch longer than 32"},
		{"version short", with(5, `"2000000"`), nil, "version must be 8 hex characters"},
		{"nbits number", with(6, `545259519`), nil, "nbits must be a string"},
		{"clean string", with(8, `"true"`), nil, "clean_jobs must be true or false"},
	}, func(r json.RawMessage) (any, error) { return ParseNotify(r) })
}

func TestAppendNotify(t *testing.T) {
	n := Notify{
		JobID:        "6a",
		Coinb1:       []byte{0x01, 0x02},
		Coinb2:       []byte{0xff},
		MerkleBranch: [][32]byte{{0xaa, 31: 0xbb}},
		Version:      0x20000000,
		NBits:        0x207fffff,
		NTime:        0x5f5e1000,
		CleanJobs:    true,
	}
	for i := range n.PrevHash {
		n.PrevHash[i] = byte(i)
	}
	got := string(AppendNotify([]byte("x"), &n))
	want := `x{"id":null,"method":"mining.notify","params":["6a","03020100070605040b0a09080f0e0d0c13121110171615141b1a19181f1e1d1c","0102","ff",["aa000000000000000000000000000000000000000000000000000000000000bb"],"20000000","207fffff","5f5e1000",true]}` + "\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	m, err := DecodeMessage([]byte(got[1:]))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseNotify(m.Params)
	if err != nil || !reflect.DeepEqual(back, n) {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	empty := Notify{JobID: "e"}
	if s := string(AppendNotify(nil, &empty)); !strings.Contains(s, `"","",[],"00000000","00000000","00000000",false]`) {
		t.Fatalf("empty notify = %s", s)
	}
}

func TestNotifications(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"set_difficulty int", AppendSetDifficulty(nil, 8192), `{"id":null,"method":"mining.set_difficulty","params":[8192]}`},
		{"set_difficulty fractional", AppendSetDifficulty(nil, 0.0001), `{"id":null,"method":"mining.set_difficulty","params":[0.0001]}`},
		{"set_difficulty 16383.75", AppendSetDifficulty(nil, 16383.75), `{"id":null,"method":"mining.set_difficulty","params":[16383.75]}`},
		{"set_difficulty tiny", AppendSetDifficulty(nil, 1e-12), `{"id":null,"method":"mining.set_difficulty","params":[1e-12]}`},
		{"set_difficulty huge", AppendSetDifficulty(nil, 1e22), `{"id":null,"method":"mining.set_difficulty","params":[1e+22]}`},
		{"set_extranonce", AppendSetExtranonce(nil, []byte{0x08, 0, 0, 0x02}, 4), `{"id":null,"method":"mining.set_extranonce","params":["08000002",4]}`},
		{"set_version_mask", AppendSetVersionMask(nil, 0x1fffe000), `{"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}`},
		{"reconnect", AppendReconnect(nil, Reconnect{Host: "eu.pool", Port: 3333, WaitSeconds: 5}), `{"id":null,"method":"client.reconnect","params":["eu.pool",3333,5]}`},
		{"reconnect same", AppendReconnect(nil, Reconnect{}), `{"id":null,"method":"client.reconnect","params":[]}`},
		{"reconnect same after a wait", AppendReconnect(nil, Reconnect{WaitSeconds: 3}), `{"id":null,"method":"client.reconnect","params":[null,null,3]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.got) != tc.want+"\n" {
				t.Fatalf("got  %s\nwant %s", tc.got, tc.want)
			}
			if _, err := DecodeMessage(tc.got); err != nil {
				t.Fatalf("own output does not decode: %v", err)
			}
		})
	}
}

func TestParseServerNotifications(t *testing.T) {
	d, err := ParseSetDifficulty(json.RawMessage(`[16383.75]`))
	if err != nil || d != 16383.75 {
		t.Errorf("set_difficulty = %v, %v", d, err)
	}
	for _, bad := range []string{`[0]`, `[-2]`, `["1"]`, `[]`, `[1,2]`} {
		if _, err := ParseSetDifficulty(json.RawMessage(bad)); errCode(err) != CodeInvalidParams {
			t.Errorf("set_difficulty %s: err = %v", bad, err)
		}
	}
	en1, size, err := ParseSetExtranonce(json.RawMessage(`["08000002", 4]`))
	if err != nil || !bytes.Equal(en1, []byte{8, 0, 0, 2}) || size != 4 {
		t.Errorf("set_extranonce = %x %d %v", en1, size, err)
	}
	for _, bad := range []string{`["0800000", 4]`, `["08", 33]`, `["08", -1]`, `["08"]`, `[8, 4]`} {
		if _, _, err := ParseSetExtranonce(json.RawMessage(bad)); errCode(err) != CodeInvalidParams {
			t.Errorf("set_extranonce %s: err = %v", bad, err)
		}
	}
	mask, err := ParseSetVersionMask(json.RawMessage(`["00003000"]`))
	if err != nil || mask != 0x3000 {
		t.Errorf("set_version_mask = %x %v", mask, err)
	}
	if _, err := ParseSetVersionMask(json.RawMessage(`["3000"]`)); errCode(err) != CodeInvalidParams {
		t.Errorf("short mask: %v", err)
	}
	reconnects := []struct {
		params string
		want   Reconnect
		ok     bool
	}{
		{`[]`, Reconnect{}, true},
		{`["h"]`, Reconnect{Host: "h"}, true},
		{`["h", 3334]`, Reconnect{Host: "h", Port: 3334}, true},
		{`["h", "3334", "10"]`, Reconnect{Host: "h", Port: 3334, WaitSeconds: 10}, true},
		{`["h", 3334, 10]`, Reconnect{Host: "h", Port: 3334, WaitSeconds: 10}, true},
		{`[null, null, 2]`, Reconnect{WaitSeconds: 2}, true},
		{`["h", 70000]`, Reconnect{}, false},
		{`["h", 1, -1]`, Reconnect{}, false},
		{`["h", 1, 4000]`, Reconnect{}, false},
		{`["h", 1, "x"]`, Reconnect{}, false},
		{`[1]`, Reconnect{}, false},
		{`["h", 1, 2, 3]`, Reconnect{}, false},
	}
	for _, tc := range reconnects {
		got, err := ParseReconnect(json.RawMessage(tc.params))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("reconnect %s = %+v, %v", tc.params, got, err)
		}
	}
}

func TestResponses(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"true", AppendTrue(nil, json.RawMessage("5")), `{"id":5,"result":true,"error":null}`},
		{"true string id", AppendTrue(nil, json.RawMessage(`"abc"`)), `{"id":"abc","result":true,"error":null}`},
		{"true null id", AppendTrue(nil, nil), `{"id":null,"result":true,"error":null}`},
		{"result", AppendResult(nil, json.RawMessage("2"), json.RawMessage(`false`)), `{"id":2,"result":false,"error":null}`},
		{"result nil", AppendResult(nil, json.RawMessage("2"), nil), `{"id":2,"result":null,"error":null}`},
		{"error", AppendError(nil, json.RawMessage("9"), ErrJobNotFound), `{"id":9,"result":null,"error":[21,"Job not found",null]}`},
		{"error detail", AppendError(nil, json.RawMessage("9"), ErrNTimeOutOfRange), `{"id":9,"result":null,"error":[20,"ntime out of range",null]}`},
		{"subscribe", AppendSubscribeResult(nil, json.RawMessage("1"), "deadbeef", []byte{0x08, 0, 0, 0x02}, 4),
			`{"id":1,"result":[[["mining.set_difficulty","deadbeef"],["mining.notify","deadbeef"]],"08000002",4],"error":null}`},
		{"configure", AppendConfigureResult(nil, json.RawMessage("1"), &ConfigureResult{Requested: []string{"version-rolling"}, VersionRolling: true, VersionRollingMask: 0x1fffe000}),
			`{"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}`},
		{"configure mixed", AppendConfigureResult(nil, json.RawMessage("1"), &ConfigureResult{Requested: []string{"minimum-difficulty", "version-rolling", "info"}, MinimumDifficulty: true}),
			`{"id":1,"result":{"minimum-difficulty":true,"version-rolling":false,"info":false},"error":null}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.got) != tc.want+"\n" {
				t.Fatalf("got  %s\nwant %s", tc.got, tc.want)
			}
			m, err := DecodeMessage(tc.got)
			if err != nil || !m.IsResponse() {
				t.Fatalf("own output does not decode as a response: %v", err)
			}
		})
	}
}

func TestParseResults(t *testing.T) {
	subs := []struct {
		name string
		line string
		want SubscribeResult
	}{
		{"bmminer pool", `{"id":183504,"result":[[["mining.set_difficulty","0100006e"],["mining.notify","0100006e"]],"0100006e",8],"error":null}`,
			SubscribeResult{Subscriptions: [][2]string{{"mining.set_difficulty", "0100006e"}, {"mining.notify", "0100006e"}}, Extranonce1: []byte{1, 0, 0, 0x6e}, Extranonce2Size: 8}},
		{"one subscription", `{"result":[[["mining.notify","7405c2c5"]],"4f659b70",8],"id":1,"error":null}`,
			SubscribeResult{Subscriptions: [][2]string{{"mining.notify", "7405c2c5"}}, Extranonce1: []byte{0x4f, 0x65, 0x9b, 0x70}, Extranonce2Size: 8}},
		{"flat pair", `{"id":1,"result":[["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"],"08000002",4],"error":null}`,
			SubscribeResult{Subscriptions: [][2]string{{"mining.notify", "ae6812eb4cd7735a302a8a9dd95cf71f"}}, Extranonce1: []byte{8, 0, 0, 2}, Extranonce2Size: 4}},
		{"own builder", string(AppendSubscribeResult(nil, json.RawMessage("1"), "s", []byte{1}, 2)),
			SubscribeResult{Subscriptions: [][2]string{{"mining.set_difficulty", "s"}, {"mining.notify", "s"}}, Extranonce1: []byte{1}, Extranonce2Size: 2}},
	}
	for _, tc := range subs {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMessage([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseSubscribeResult(m.Result)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{`[[],"0g",4]`, `[[],"00",33]`, `[[],"00"]`, `{"a":1}`, `[5,"00",4]`} {
		if _, err := ParseSubscribeResult(json.RawMessage(bad)); err == nil {
			t.Errorf("subscribe result %s accepted", bad)
		}
	}

	cfg, err := ParseConfigureResult(json.RawMessage(`{"version-rolling": true, "version-rolling.mask": "18000000", "minimum-difficulty": true}`))
	want := ConfigureResult{Requested: []string{"version-rolling", "minimum-difficulty"}, VersionRolling: true, VersionRollingMask: 0x18000000, MinimumDifficulty: true}
	if err != nil || !reflect.DeepEqual(cfg, want) {
		t.Errorf("configure result = %+v, %v", cfg, err)
	}
	cfg, err = ParseConfigureResult(json.RawMessage(`{"version-rolling": "mask conflict"}`))
	if err != nil || cfg.VersionRolling {
		t.Errorf("string answer = %+v, %v", cfg, err)
	}
	for _, bad := range []string{`{"version-rolling": true}`, `{"version-rolling": true, "version-rolling.mask": "1"}`, `[]`, `true`} {
		if _, err := ParseConfigureResult(json.RawMessage(bad)); err == nil {
			t.Errorf("configure result %s accepted", bad)
		}
	}

	for in, want := range map[string]bool{"true": true, "false": false, "null": false} {
		if got, err := ParseBoolResult(json.RawMessage(in)); err != nil || got != want {
			t.Errorf("bool %s = %v, %v", in, got, err)
		}
	}
	if _, err := ParseBoolResult(json.RawMessage(`"ok"`)); err == nil {
		t.Error("bool result string accepted")
	}
}

func TestClientRequestsRoundTrip(t *testing.T) {
	sub := AppendSubscribe(nil, 1, SubscribeParams{UserAgent: "jetpool-miner/1", SessionID: "0100006c"})
	if string(sub) != `{"id":1,"method":"mining.subscribe","params":["jetpool-miner/1","0100006c"]}`+"\n" {
		t.Errorf("subscribe = %s", sub)
	}
	if s := AppendSubscribe(nil, 1, SubscribeParams{UserAgent: "a"}); string(s) != `{"id":1,"method":"mining.subscribe","params":["a"]}`+"\n" {
		t.Errorf("subscribe without session = %s", s)
	}
	auth := AppendAuthorize(nil, 2, AuthorizeParams{User: "bcrt1q.w", Pass: "x"})
	submit := SubmitParams{Worker: "bcrt1q.w", JobID: "1f", Extranonce2: []byte{0, 0, 0, 1}, NTime: 0x64b3f3ec, Nonce: 0xed460d91, VersionBits: 0x2000, HasVersionBits: true}
	sb := AppendSubmit(nil, 3, &submit)
	if string(sb) != `{"id":3,"method":"mining.submit","params":["bcrt1q.w","1f","00000001","64b3f3ec","ed460d91","00002000"]}`+"\n" {
		t.Errorf("submit = %s", sb)
	}
	conf := AppendConfigure(nil, 4, VersionRollingConfigure(0x1fffe000, 2))
	if string(conf) != `{"id":4,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":2}]}`+"\n" {
		t.Errorf("configure = %s", conf)
	}
	sug := AppendSuggestDifficulty(nil, 5, 0.0001)
	ens := AppendExtranonceSubscribe(nil, 6)

	for _, line := range [][]byte{sub, auth, sb, conf, sug, ens} {
		req, err := DecodeRequest(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		v, err := ParseClientParams(req.Method, req.Params)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		switch p := v.(type) {
		case SubmitParams:
			if !reflect.DeepEqual(p, submit) {
				t.Errorf("submit round trip = %+v", p)
			}
		case AuthorizeParams:
			if p != (AuthorizeParams{User: "bcrt1q.w", Pass: "x"}) {
				t.Errorf("authorize round trip = %+v", p)
			}
		case ConfigureParams:
			vr, ok := p.VersionRolling()
			if !ok || vr != (VersionRollingRequest{Mask: 0x1fffe000, MinBitCount: 2}) {
				t.Errorf("configure round trip = %+v", vr)
			}
		case float64:
			if p != 0.0001 {
				t.Errorf("suggest round trip = %v", p)
			}
		}
	}
}

// TestRealLines decodes every recorded miner and pool line and parses the
// params or result of every method it knows.
func TestRealLines(t *testing.T) {
	f, err := os.Open("testdata/miner-lines.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		n++
		m, err := DecodeMessage([]byte(line))
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		switch {
		case m.Method == "mining.multi_version":
			if _, err := ParseClientParams(m.Method, m.Params); errCode(err) != CodeMethodNotFound {
				t.Errorf("%s: %v", line, err)
			}
		case m.Method != "":
			if _, err := parseAny(m.Method, m.Params); err != nil {
				t.Errorf("%s: %v", line, err)
			}
		case string(m.Result) == "true":
		case bytes.HasPrefix(m.Result, []byte("{")):
			if _, err := ParseConfigureResult(m.Result); err != nil {
				t.Errorf("%s: %v", line, err)
			}
		default:
			if _, err := ParseSubscribeResult(m.Result); err != nil {
				t.Errorf("%s: %v", line, err)
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d lines read", n)
	}
}

// parseAny parses client and server methods alike.
func parseAny(method string, params json.RawMessage) (any, error) {
	switch method {
	case MethodNotify:
		return ParseNotify(params)
	case MethodSetDifficulty:
		return ParseSetDifficulty(params)
	case MethodSetExtranonce:
		en1, _, err := ParseSetExtranonce(params)
		return en1, err
	case MethodSetVersionMask:
		return ParseSetVersionMask(params)
	case MethodReconnect:
		return ParseReconnect(params)
	}
	return ParseClientParams(method, params)
}

func BenchmarkDecodeSubmit(b *testing.B) {
	line := []byte(`{"id": 5, "method": "mining.submit", "params": ["tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4.bitaxe3", "1", "c7080000", "64b3f3ec", "ed460d91", "00002000"]}`)
	b.ReportAllocs()
	for b.Loop() {
		req, err := DecodeRequest(line)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseSubmit(req.Params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendTrue(b *testing.B) {
	buf := make([]byte, 0, 128)
	id := json.RawMessage("12345")
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTrue(buf[:0], id)
	}
}

func BenchmarkAppendNotify(b *testing.B) {
	m, _ := DecodeMessage([]byte(publicPoolNotify))
	n, err := ParseNotify(m.Params)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendNotify(buf[:0], &n)
	}
}
