package stratum

import (
	"errors"
	"strings"
	"testing"
)

func errCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name       string
		line       string
		wantID     string
		wantMethod string
		wantParams string
		wantCode   Code // 0: success
	}{
		{"number id", `{"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.11.1"]}`, "1", "mining.subscribe", `["cgminer/4.11.1"]`, 0},
		{"string id", `{"id":"a1","method":"mining.authorize","params":["u","p"]}`, `"a1"`, "mining.authorize", `["u","p"]`, 0},
		{"null id", `{"id":null,"method":"mining.extranonce.subscribe","params":[]}`, "null", "mining.extranonce.subscribe", `[]`, 0},
		{"absent id and params", `{"method":"mining.extranonce.subscribe"}`, "", "mining.extranonce.subscribe", "", 0},
		{"null params", `{"id":1,"method":"mining.subscribe","params":null}`, "1", "mining.subscribe", "null", 0},
		{"id after params", `{"method": "mining.submit", "params": ["a"], "id":4}`, "4", "mining.submit", `["a"]`, 0},
		{"negative id", `{"id":-3,"method":"x"}`, "-3", "x", "", 0},
		{"jsonrpc member ignored", `{"jsonrpc":"2.0","id":1,"method":"mining.subscribe","params":[]}`, "1", "mining.subscribe", "[]", 0},
		{"leading space", "  {\"id\":1,\"method\":\"m\"}", "1", "m", "", 0},

		{"not json", `{"id":1,`, "", "", "", CodeParseError},
		{"garbage", `hello`, "", "", "", CodeParseError},
		{"trailing garbage", `{"id":1,"method":"m"} x`, "", "", "", CodeParseError},
		{"array", `[1,2]`, "", "", "", CodeInvalidRequest},
		{"null", `null`, "", "", "", CodeInvalidRequest},
		{"string", `"mining.subscribe"`, "", "", "", CodeInvalidRequest},
		{"id object", `{"id":{},"method":"m"}`, "", "", "", CodeInvalidRequest},
		{"id array", `{"id":[1],"method":"m"}`, "", "", "", CodeInvalidRequest},
		{"id bool", `{"id":true,"method":"m"}`, "", "", "", CodeInvalidRequest},
		{"method missing", `{"id":1,"params":[]}`, "1", "", "", CodeInvalidRequest},
		{"method null", `{"id":1,"method":null}`, "1", "", "", CodeInvalidRequest},
		{"method number", `{"id":1,"method":5}`, "1", "", "", CodeInvalidRequest},
		{"method empty", `{"id":1,"method":""}`, "1", "", "", CodeInvalidRequest},
		{"method too long", `{"id":1,"method":"mining.` + strings.Repeat("a", MaxMethodLength) + `"}`, "1", "", "", CodeInvalidRequest},
		{"params object", `{"id":1,"method":"m","params":{"a":1}}`, "1", "m", "", CodeInvalidRequest},
		{"params string", `{"id":1,"method":"m","params":"x"}`, "1", "m", "", CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeRequest([]byte(tc.line))
			if got := errCode(err); got != tc.wantCode {
				t.Fatalf("err = %v (code %d), want code %d", err, got, tc.wantCode)
			}
			if err != nil && errCode(err) == 0 {
				t.Fatalf("error %v is not an *Error", err)
			}
			if string(req.ID) != tc.wantID {
				t.Errorf("ID = %q, want %q", req.ID, tc.wantID)
			}
			if tc.wantCode != 0 {
				return
			}
			if req.Method != tc.wantMethod || string(req.Params) != tc.wantParams {
				t.Errorf("got %q %s, want %q %s", req.Method, req.Params, tc.wantMethod, tc.wantParams)
			}
		})
	}
}

func TestDecodeMessage(t *testing.T) {
	tests := []struct {
		name       string
		line       string
		response   bool
		method     string
		result     string
		errCode    Code // code of Message.Error
		decodeCode Code // code of the decode error
	}{
		{"notify", `{"id":null,"method":"mining.notify","params":["1"]}`, false, "mining.notify", "", 0, 0},
		{"notification without id", `{"params":[1],"method":"mining.set_difficulty"}`, false, "mining.set_difficulty", "", 0, 0},
		{"true result", `{"id":3,"result":true,"error":null}`, true, "", "true", 0, 0},
		{"result without error member", `{"result":true,"id":2}`, true, "", "true", 0, 0},
		{"error false", `{"id":1,"result":{"version-rolling":true},"error":false}`, true, "", `{"version-rolling":true}`, 0, 0},
		{"array error", `{"id":5,"result":null,"error":[21,"Job not found",null]}`, true, "", "null", 21, 0},
		{"object error", `{"id":"x","error":{"code":23,"message":"Low difficulty"}}`, true, "", "", 23, 0},
		{"string error", `{"id":4,"result":false,"error":"stale"}`, true, "", "false", 20, 0},

		{"parse error", `{"id":4,`, false, "", "", 0, CodeParseError},
		{"not object", `[]`, false, "", "", 0, CodeInvalidRequest},
		{"bad error member", `{"id":4,"error":12}`, false, "", "", 0, CodeInvalidRequest},
		{"response with null id", `{"id":null,"result":null,"error":[-32700,"Parse error",null]}`, true, "", "null", -32700, 0},
		{"empty object", `{}`, false, "", "", 0, CodeInvalidRequest},
		{"id only", `{"id":3}`, false, "", "", 0, CodeInvalidRequest},
		{"bad id", `{"id":[],"result":true}`, false, "", "", 0, CodeInvalidRequest},
		{"method not string", `{"id":null,"method":1,"params":[]}`, false, "", "", 0, CodeInvalidRequest},
		{"params object", `{"id":null,"method":"mining.notify","params":{}}`, false, "", "", 0, CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMessage([]byte(tc.line))
			if got := errCode(err); got != tc.decodeCode {
				t.Fatalf("err = %v, want code %d", err, tc.decodeCode)
			}
			if err != nil {
				return
			}
			if m.IsResponse() != tc.response || m.Method != tc.method || string(m.Result) != tc.result {
				t.Fatalf("got response=%v method=%q result=%s", m.IsResponse(), m.Method, m.Result)
			}
			var gotCode Code
			if m.Error != nil {
				gotCode = m.Error.Code
			}
			if gotCode != tc.errCode {
				t.Fatalf("error code = %d, want %d", gotCode, tc.errCode)
			}
			if tc.response {
				if r := m.Response(); string(r.ID) != string(m.ID) || r.Error != m.Error {
					t.Fatalf("Response() = %+v", r)
				}
			} else if n := m.Notification(); n.Method != m.Method {
				t.Fatalf("Notification() = %+v", n)
			}
		})
	}
}

func TestIDString(t *testing.T) {
	if IDString(nil) != "null" || IDString([]byte(`"a"`)) != `"a"` || IDString([]byte("7")) != "7" {
		t.Fatal("IDString")
	}
}

// Members are matched like encoding/json matches struct fields.
func TestDecodeRequestMemberMatching(t *testing.T) {
	tests := []struct {
		name, line, id, method, params string
	}{
		{"upper-case keys", `{"ID":7,"Method":"m","PARAMS":[1]}`, "7", "m", "[1]"},
		{"escaped key", `{"\u0069d":8,"method":"m"}`, "8", "m", ""},
		{"last duplicate wins", `{"id":1,"id":2,"method":"a","method":"b"}`, "2", "b", ""},
		{"unknown members ignored", `{"x":{"id":5},"id":3,"method":"m","y":[1,{"a":"]"}]}`, "3", "m", ""},
		{"strings with brackets", `{"id":"a]},\"","method":"m","params":["x]","{",[[]],{"k":"v"}]}`, `"a]},\""`, "m", `["x]","{",[[]],{"k":"v"}]`},
		{"whitespace", "{ \"id\" : 1 , \"method\" : \"m\" , \"params\" : [ 1 , \"a\" ] }", "1", "m", `[ 1 , "a" ]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeRequest([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			if string(req.ID) != tc.id || req.Method != tc.method || string(req.Params) != tc.params {
				t.Fatalf("got %s %q %s", req.ID, req.Method, req.Params)
			}
		})
	}
}

// Decoded requests must not alias the caller's line (the LineReader buffer).
func TestDecodeRequestDoesNotAlias(t *testing.T) {
	line := []byte(`{"id":"abc","method":"mining.submit","params":["w","j","00","00000000","00000000"]}`)
	req, err := DecodeRequest(line)
	if err != nil {
		t.Fatal(err)
	}
	for i := range line {
		line[i] = 'x'
	}
	if string(req.ID) != `"abc"` || req.Method != "mining.submit" || !strings.HasPrefix(string(req.Params), `["w"`) {
		t.Fatalf("request changed with its line: %s %q %s", req.ID, req.Method, req.Params)
	}
}
