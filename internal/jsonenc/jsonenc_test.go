package jsonenc

import (
	"encoding/json"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "plain", `"plain"`},
		{"quote and backslash", "q\"b\\", `"q\"b\\"`},
		{"short escapes", "nl\n\r\t\b\f", `"nl\n\r\t\b\f"`},
		{"other controls", "\x00\x1f", `"\u0000\u001f"`},
		{"html", "<a&b>", `"\u003ca\u0026b\u003e"`},
		{"line separators", "\u2028\u2029", `"\u2028\u2029"`},
		{"multibyte", "é€", `"é€"`},
		{"invalid utf-8", "bad\xffutf8", `"bad\ufffdutf8"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendString([]byte("x"), tc.in))
			if got != "x"+tc.want {
				t.Errorf("AppendString(%q) = %s, want x%s", tc.in, got, tc.want)
			}
			std, _ := json.Marshal(tc.in)
			if string(std) != tc.want {
				t.Errorf("encoding/json writes %s for %q, the table says %s", std, tc.in, tc.want)
			}
		})
	}
}

// FuzzAppendString holds AppendString to encoding/json for any input.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x00\"\\", "<>&", "\u2028", "\xff\xfe", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		std, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); string(got) != string(std) {
			t.Fatalf("AppendString(%q) = %s, encoding/json %s", s, got, std)
		}
	})
}
