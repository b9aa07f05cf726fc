package stratum

import (
	"encoding/json"
	"strings"
	"testing"
)

var validJSONCases = []struct {
	name string
	in   string
}{
	{"empty", ``},
	{"spaces", " \t\r\n"},
	{"request", `{"id":1,"method":"mining.submit","params":["w.1","6b2","00000001","65a1b2c3","1f2e3d4c"]}`},
	{"spaced", " { \"a\" : [ 1 , -2.5e+3 , true , false , null , \"x\" , { } , [ ] ] } \n"},
	{"scalars", `0`},
	{"negative zero fraction", `-0.0e-0`},
	{"leading zero", `01`},
	{"bare minus", `-`},
	{"dot without digits", `1.`},
	{"exponent without digits", `1e+`},
	{"plus sign", `+1`},
	{"escapes", `"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"`},
	{"bad escape", `"\x"`},
	{"short unicode escape", `"\u12"`},
	{"bad unicode escape", `"\u12g4"`},
	{"control character", "\"a\x01b\""},
	{"delete and invalid utf-8 are accepted", "\"\x7f\xff\xfe\""},
	{"unterminated string", `"abc`},
	{"trailing comma", `[1,]`},
	{"missing colon", `{"a" 1}`},
	{"non-string key", `{1:2}`},
	{"two values", `1 2`},
	{"trailing garbage", `{}x`},
	{"truncated literal", `tru`},
	{"literal prefix", `nullx`},
	{"unclosed", `[[{"a":[`},
	{"mismatched", `[}`},
	{"depth 10000", strings.Repeat("[", 10000) + strings.Repeat("]", 10000)},
	{"depth 10001", strings.Repeat("[", 10001) + strings.Repeat("]", 10001)},
	{"empty object at depth 10001", strings.Repeat(`{"a":`, 10000) + `{}` + strings.Repeat("}", 10000)},
}

// TestValidJSONIsJSONValid: validJSON answers what json.Valid answers.
func TestValidJSONIsJSONValid(t *testing.T) {
	for _, tc := range validJSONCases {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := validJSON([]byte(tc.in)), json.Valid([]byte(tc.in)); got != want {
				t.Fatalf("validJSON = %v, json.Valid = %v", got, want)
			}
		})
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, tc := range validJSONCases {
		if len(tc.in) < 1000 {
			f.Add([]byte(tc.in))
		}
	}
	for _, l := range seedLines(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	line := []byte(`{"id":12345,"method":"mining.submit","params":["bcrt1qk2a2m9ns605re5mxlsvdx6y4y3qt2gshxwqwjy.w9999","6b2","0000000100000000","65a1b2c3","1f2e3d4c"]}`)
	b.Run("validJSON", func(b *testing.B) {
		for b.Loop() {
			validJSON(line)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		for b.Loop() {
			json.Valid(line)
		}
	})
}
