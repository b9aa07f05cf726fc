package stratum

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// paramCase is one params array and either the parsed value or a fragment
// of the expected -32602 message.
type paramCase struct {
	name    string
	params  string
	want    any
	wantErr string
}

func runParamCases(t *testing.T, cases []paramCase, parse func(json.RawMessage) (any, error)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var raw json.RawMessage
			if tc.params != "" {
				raw = json.RawMessage(tc.params)
			}
			got, err := parse(raw)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("got %+v, want error containing %q", got, tc.wantErr)
				}
				if errCode(err) != CodeInvalidParams {
					t.Fatalf("err %v has code %d, want %d", err, errCode(err), CodeInvalidParams)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %q, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseSubscribe(t *testing.T) {
	runParamCases(t, []paramCase{
		{"empty", `[]`, SubscribeParams{}, ""},
		{"absent", ``, SubscribeParams{}, ""},
		{"null", `null`, SubscribeParams{}, ""},
		{"agent", `["cgminer/4.11.1"]`, SubscribeParams{UserAgent: "cgminer/4.11.1"}, ""},
		{"agent and session", `["bmminer/2.0.0", "0100006c"]`, SubscribeParams{UserAgent: "bmminer/2.0.0", SessionID: "0100006c"}, ""},
		{"null session", `["bmminer/2.0", null]`, SubscribeParams{UserAgent: "bmminer/2.0"}, ""},
		{"host and port", `["a", null, "pool.example", 3333]`, SubscribeParams{UserAgent: "a"}, ""},
		{"port as string", `["a", null, "pool.example", "3333"]`, SubscribeParams{UserAgent: "a"}, ""},
		{"escaped agent", `["a\"b\u00e9"]`, SubscribeParams{UserAgent: "a\"bé"}, ""},
		{"too many", `["a", null, "h", 1, 2]`, nil, "expected 0 to 4 params, got 5"},
		{"agent number", `[5]`, nil, "user agent must be a string"},
		{"session number", `["a", 5]`, nil, "session id must be a string"},
		{"host number", `["a", null, 5]`, nil, "host must be a string"},
		{"port bad", `["a", null, "h", 70000]`, nil, "port must be an integer"},
		{"agent too long", `["` + strings.Repeat("a", MaxNameLength+1) + `"]`, nil, "user agent longer than 256 bytes"},
		{"object", `{"agent":"a"}`, nil, "params must be an array"},
	}, func(r json.RawMessage) (any, error) { return ParseSubscribe(r) })
}

func TestParseAuthorize(t *testing.T) {
	runParamCases(t, []paramCase{
		{"user pass", `["user1.test", "123"]`, AuthorizeParams{User: "user1.test", Pass: "123"}, ""},
		{"user only", `["tb1q.w"]`, AuthorizeParams{User: "tb1q.w"}, ""},
		{"null pass", `["u", null]`, AuthorizeParams{User: "u"}, ""},
		{"empty", `[]`, nil, "expected 1 to 2 params, got 0"},
		{"empty user", `["", "x"]`, nil, "user must not be empty"},
		{"null user", `[null, "x"]`, nil, "user must be a string, got null"},
		{"user number", `[1, "x"]`, nil, "user must be a string"},
		{"pass number", `["u", 1]`, nil, "password must be a string"},
		{"three", `["u", "p", "x"]`, nil, "expected 1 to 2 params, got 3"},
	}, func(r json.RawMessage) (any, error) { return ParseAuthorize(r) })
}

func TestParseSubmit(t *testing.T) {
	const w = "tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4.bitaxe3"
	runParamCases(t, []paramCase{
		{"bitaxe with version bits", `["` + w + `", "1", "c7080000", "64b3f3ec", "ed460d91", "00002000"]`,
			SubmitParams{Worker: w, JobID: "1", Extranonce2: []byte{0xc7, 0x08, 0, 0}, NTime: 0x64b3f3ec, Nonce: 0xed460d91, VersionBits: 0x2000, HasVersionBits: true}, ""},
		{"cpuminer", `["nyajira.xa", "e4c", "00000000", "52b7a1a9", "79280100"]`,
			SubmitParams{Worker: "nyajira.xa", JobID: "e4c", Extranonce2: []byte{0, 0, 0, 0}, NTime: 0x52b7a1a9, Nonce: 0x79280100}, ""},
		{"upper-case hex", `["w", "j", "ABCD", "64B3F3EC", "ED460D91"]`,
			SubmitParams{Worker: "w", JobID: "j", Extranonce2: []byte{0xab, 0xcd}, NTime: 0x64b3f3ec, Nonce: 0xed460d91}, ""},
		{"four params", `["w", "j", "00", "64b3f3ec"]`, nil, "expected 5 to 6 params, got 4"},
		{"seven params", `["w", "j", "00", "64b3f3ec", "00000000", "00000000", "x"]`, nil, "expected 5 to 6 params, got 7"},
		{"empty worker", `["", "j", "00", "64b3f3ec", "00000000"]`, nil, "worker must not be empty"},
		{"empty job", `["w", "", "00", "64b3f3ec", "00000000"]`, nil, "job id must not be empty"},
		{"job number", `["w", 7, "00", "64b3f3ec", "00000000"]`, nil, "job id must be a string"},
		{"job too long", `["w", "` + strings.Repeat("j", MaxJobIDLength+1) + `", "00", "64b3f3ec", "00000000"]`, nil, "job id longer than 64 bytes"},
		{"extranonce2 odd", `["w", "j", "abc", "64b3f3ec", "00000000"]`, nil, "extranonce2 must have an even number of hex digits"},
		{"extranonce2 not hex", `["w", "j", "zz", "64b3f3ec", "00000000"]`, nil, "extranonce2 is not hex"},
		{"extranonce2 too long", `["w", "j", "` + strings.Repeat("00", MaxExtranonceSize+1) + `", "64b3f3ec", "00000000"]`, nil, "extranonce2 longer than 32 bytes"},
		{"ntime short", `["w", "j", "00", "64b3f3e", "00000000"]`, nil, "ntime must be 8 hex characters"},
		{"ntime 0x", `["w", "j", "00", "0x64b3f3", "00000000"]`, nil, "ntime must be 8 hex characters"},
		{"ntime number", `["w", "j", "00", 1689514988, "00000000"]`, nil, "ntime must be a string"},
		{"nonce long", `["w", "j", "00", "64b3f3ec", "000000000"]`, nil, "nonce must be 8 hex characters"},
		{"nonce not hex", `["w", "j", "00", "64b3f3ec", "0000000g"]`, nil, "nonce must be 8 hex characters"},
		{"version bits short", `["w", "j", "00", "64b3f3ec", "00000000", "2000"]`, nil, "version bits must be 8 hex characters"},
		{"version bits null", `["w", "j", "00", "64b3f3ec", "00000000", null]`, nil, "version bits must be a string, got null"},
	}, func(r json.RawMessage) (any, error) { return ParseSubmit(r) })
}

func TestSubmitChecks(t *testing.T) {
	p := SubmitParams{Extranonce2: make([]byte, 4), VersionBits: 0x00002000, HasVersionBits: true}
	if err := p.CheckExtranonce2Size(4); err != nil {
		t.Errorf("size 4: %v", err)
	}
	if err := p.CheckExtranonce2Size(8); err != ErrExtranonce2Size {
		t.Errorf("size 8: %v", err)
	}
	if err := p.CheckVersionBits(0x1fffe000); err != nil {
		t.Errorf("in mask: %v", err)
	}
	if err := p.CheckVersionBits(0x1fff0000); err != ErrVersionBitsOutsideMask {
		t.Errorf("outside mask: %v", err)
	}
	if err := p.CheckVersionBits(0); err != ErrVersionRollingDisabled {
		t.Errorf("no mask: %v", err)
	}
	if got := p.Version(0x20000000, 0x1fffe000); got != 0x20002000 {
		t.Errorf("Version = %08x", got)
	}
	// BIP310: bits outside the mask come from the job, bits inside from the miner.
	p.VersionBits = 0xffffffff
	if got := p.Version(0x20000000, 0x1fffe000); got != 0x3fffe000 {
		t.Errorf("Version with all bits = %08x", got)
	}
	plain := SubmitParams{}
	if plain.CheckVersionBits(0) != nil || plain.Version(0x20000000, 0x1fffe000) != 0x20000000 {
		t.Error("submit without version bits")
	}
}

func TestParseConfigure(t *testing.T) {
	type result struct {
		exts   []string
		vr     VersionRollingRequest
		vrOK   bool
		minD   float64
		minDOK bool
	}
	parse := func(r json.RawMessage) (any, error) {
		p, err := ParseConfigure(r)
		if err != nil {
			return nil, err
		}
		var res result
		res.exts = p.Extensions
		res.vr, res.vrOK = p.VersionRolling()
		res.minD, res.minDOK = p.MinimumDifficulty()
		return res, nil
	}
	runParamCases(t, []paramCase{
		{"bip310 full", `[["minimum-difficulty", "version-rolling"], {"minimum-difficulty.value": 2048, "version-rolling.mask": "1fffe000", "version-rolling.min-bit-count": 2}]`,
			result{exts: []string{"minimum-difficulty", "version-rolling"}, vr: VersionRollingRequest{Mask: 0x1fffe000, MinBitCount: 2}, vrOK: true, minD: 2048, minDOK: true}, ""},
		{"bitaxe mask only", `[["version-rolling"], {"version-rolling.mask": "ffffffff"}]`,
			result{exts: []string{"version-rolling"}, vr: VersionRollingRequest{Mask: 0xffffffff}, vrOK: true}, ""},
		{"default mask", `[["version-rolling"], {}]`,
			result{exts: []string{"version-rolling"}, vr: VersionRollingRequest{Mask: 0xffffffff}, vrOK: true}, ""},
		{"no param map", `[["version-rolling"]]`,
			result{exts: []string{"version-rolling"}, vr: VersionRollingRequest{Mask: 0xffffffff}, vrOK: true}, ""},
		{"subscribe-extranonce", `[["subscribe-extranonce"],{}]`, result{exts: []string{"subscribe-extranonce"}}, ""},
		{"unknown extension kept", `[["info"], {"info.sw-version": "x"}]`, result{exts: []string{"info"}}, ""},
		{"empty", `[]`, nil, "expected 1 to 2 params, got 0"},
		{"exts not array", `["version-rolling", {}]`, nil, "extensions must be an array of strings"},
		{"ext not string", `[[1], {}]`, nil, "extension must be a string"},
		{"ext empty", `[[""], {}]`, nil, "empty extension code"},
		{"ext duplicate", `[["version-rolling","version-rolling"], {}]`, nil, "duplicate extension"},
		{"too many exts", `[[` + strings.Repeat(`"a",`, MaxConfigureExts) + `"b"], {}]`, nil, "more than 16 extensions"},
		{"params not object", `[["version-rolling"], []]`, nil, "extension parameters must be an object"},
		{"mask short", `[["version-rolling"], {"version-rolling.mask": "1fffe0"}]`, nil, "version-rolling.mask must be 8 hex characters"},
		{"mask number", `[["version-rolling"], {"version-rolling.mask": 536862720}]`, nil, "version-rolling.mask must be a string"},
		{"min bits too big", `[["version-rolling"], {"version-rolling.min-bit-count": 33}]`, nil, "min-bit-count must be an integer from 0 to 32"},
		{"min bits fractional", `[["version-rolling"], {"version-rolling.min-bit-count": 2.5}]`, nil, "min-bit-count must be an integer"},
		{"min diff missing", `[["minimum-difficulty"], {}]`, nil, "minimum-difficulty.value is required"},
		{"min diff negative", `[["minimum-difficulty"], {"minimum-difficulty.value": -1}]`, nil, "must be >= 0"},
		{"min diff string", `[["minimum-difficulty"], {"minimum-difficulty.value": "1"}]`, nil, "minimum-difficulty.value must be a number"},
	}, parse)
}

func TestParseSuggestDifficulty(t *testing.T) {
	runParamCases(t, []paramCase{
		{"integer", `[512]`, 512.0, ""},
		{"fractional", `[0.16]`, 0.16, ""},
		{"tiny", `[0.0001]`, 0.0001, ""},
		{"exponent", `[1e-8]`, 1e-8, ""},
		{"zero", `[0]`, nil, "difficulty must be > 0"},
		{"negative", `[-1]`, nil, "difficulty must be > 0"},
		{"underflow", `[1e-400]`, nil, "difficulty must be > 0"},
		{"overflow", `[1e400]`, nil, "difficulty out of range"},
		{"string", `["512"]`, nil, "difficulty must be a number"},
		{"null", `[null]`, nil, "difficulty must be a number"},
		{"empty", `[]`, nil, "expected 1 params, got 0"},
		{"two", `[1, 2]`, nil, "expected 1 params, got 2"},
	}, func(r json.RawMessage) (any, error) { return ParseSuggestDifficulty(r) })
}

func TestParseExtranonceSubscribeAndGetTransactions(t *testing.T) {
	runParamCases(t, []paramCase{
		{"empty", `[]`, nil, ""},
		{"absent", ``, nil, ""},
		{"one", `[1]`, nil, "expected 0 params, got 1"},
	}, func(r json.RawMessage) (any, error) { return nil, ParseExtranonceSubscribe(r) })
	runParamCases(t, []paramCase{
		{"empty", `[]`, "", ""},
		{"job", `["4f"]`, "4f", ""},
		{"number", `[4]`, nil, "job id must be a string"},
		{"two", `["a","b"]`, nil, "expected 0 to 1 params, got 2"},
	}, func(r json.RawMessage) (any, error) { return ParseGetTransactions(r) })
}

func TestParseClientParams(t *testing.T) {
	tests := []struct {
		method string
		params string
		want   any
	}{
		{MethodSubscribe, `["a"]`, SubscribeParams{UserAgent: "a"}},
		{MethodAuthorize, `["u","p"]`, AuthorizeParams{User: "u", Pass: "p"}},
		{MethodSuggestDifficulty, `[2]`, 2.0},
		{MethodExtranonceSubscribe, `[]`, nil},
		{MethodGetTransactions, `["j"]`, "j"},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			got, err := ParseClientParams(tc.method, json.RawMessage(tc.params))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
	if v, err := ParseClientParams(MethodSubmit, json.RawMessage(`["w","j","00","00000000","00000000"]`)); err != nil {
		t.Fatalf("submit: %v", err)
	} else if _, ok := v.(SubmitParams); !ok {
		t.Fatalf("submit gave %T", v)
	}
	if v, err := ParseClientParams(MethodConfigure, json.RawMessage(`[["version-rolling"]]`)); err != nil {
		t.Fatalf("configure: %v", err)
	} else if _, ok := v.(ConfigureParams); !ok {
		t.Fatalf("configure gave %T", v)
	}
	_, err := ParseClientParams("mining.multi_version", json.RawMessage(`[1]`))
	if errCode(err) != CodeMethodNotFound || !strings.Contains(err.Error(), "mining.multi_version") {
		t.Fatalf("unknown method: %v", err)
	}
}
