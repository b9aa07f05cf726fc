package stratum

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestCodeTable(t *testing.T) {
	tests := []struct {
		code Code
		num  int
		msg  string
		err  *Error
	}{
		{CodeOther, 20, "Other/Unknown", ErrOther},
		{CodeJobNotFound, 21, "Job not found", ErrJobNotFound},
		{CodeDuplicateShare, 22, "Duplicate share", ErrDuplicateShare},
		{CodeLowDifficulty, 23, "Low difficulty share", ErrLowDifficulty},
		{CodeUnauthorized, 24, "Unauthorized worker", ErrUnauthorized},
		{CodeNotSubscribed, 25, "Not subscribed", ErrNotSubscribed},
		{CodeParseError, -32700, "Parse error", ErrParse},
		{CodeInvalidRequest, -32600, "Invalid request", ErrInvalidRequest},
		{CodeMethodNotFound, -32601, "Method not found", ErrMethodNotFound},
		{CodeInvalidParams, -32602, "Invalid params", ErrInvalidParams},
	}
	for _, tc := range tests {
		t.Run(tc.msg, func(t *testing.T) {
			if int(tc.code) != tc.num || tc.code.String() != tc.msg {
				t.Fatalf("code %d %q, want %d %q", tc.code, tc.code.String(), tc.num, tc.msg)
			}
			if tc.err.Code != tc.code || tc.err.Message != tc.msg {
				t.Fatalf("sentinel = %+v", tc.err)
			}
			b, err := json.Marshal(tc.err)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf(`[%d,%q,null]`, tc.num, tc.msg)
			if string(b) != want {
				t.Fatalf("marshal = %s, want %s", b, want)
			}
		})
	}
	if got := Code(99).String(); got != "Error 99" {
		t.Fatalf("unknown code String = %q", got)
	}
}

func TestErrorIs(t *testing.T) {
	stale := NewError(CodeJobNotFound, "stale job 7")
	var err error = fmt.Errorf("submit: %w", stale)
	if !errors.Is(err, ErrJobNotFound) {
		t.Error("code-21 error is not ErrJobNotFound")
	}
	if errors.Is(err, ErrDuplicateShare) {
		t.Error("code-21 error matched ErrDuplicateShare")
	}
	if errors.Is(ErrOther, ErrNTimeOutOfRange) {
		t.Error("canonical ErrOther matched the detailed ntime error")
	}
	if !errors.Is(ErrNTimeOutOfRange, ErrOther) {
		t.Error("ErrNTimeOutOfRange does not match ErrOther (its code)")
	}
	if !errors.Is(NewError(CodeOther, "ntime out of range"), ErrNTimeOutOfRange) {
		t.Error("same code and message did not match")
	}
	if errors.Is(ErrVersionBitsOutsideMask, ErrNTimeOutOfRange) {
		t.Error("different detailed errors matched")
	}
	if got := stale.Error(); got != "stratum error 21: stale job 7" {
		t.Errorf("Error() = %q", got)
	}
	if NewError(CodeLowDifficulty, "").Message != "Low difficulty share" {
		t.Error("empty message not defaulted")
	}
}

func TestErrorJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Error
		wantErr bool
	}{
		{"array", `[21, "Job not found", null]`, Error{Code: 21, Message: "Job not found"}, false},
		{"array two", `[23,"Low difficulty share"]`, Error{Code: 23, Message: "Low difficulty share"}, false},
		{"array traceback", `[20,"x","Traceback..."]`, Error{Code: 20, Message: "x", Data: json.RawMessage(`"Traceback..."`)}, false},
		{"array null message", `[20,null,null]`, Error{Code: 20}, false},
		{"object", `{"code":-32601,"message":"Method not found"}`, Error{Code: -32601, Message: "Method not found"}, false},
		{"object data", `{"code":22,"message":"dup","data":{"a":1}}`, Error{Code: 22, Message: "dup", Data: json.RawMessage(`{"a":1}`)}, false},
		{"string", `"Invalid Pow hash"`, Error{Code: 20, Message: "Invalid Pow hash"}, false},
		{"array too short", `[21]`, Error{}, true},
		{"array too long", `[21,"a",null,1]`, Error{}, true},
		{"code not number", `["21","a"]`, Error{}, true},
		{"code fractional", `[21.5,"a"]`, Error{}, true},
		{"code huge", `[1e20,"a"]`, Error{}, true},
		{"message not string", `[21,5]`, Error{}, true},
		{"number", `21`, Error{}, true},
		{"bool", `true`, Error{}, true},
		{"object code missing", `{"message":"x"}`, Error{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Error
			err := json.Unmarshal([]byte(tc.in), &e)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if e.Code != tc.want.Code || e.Message != tc.want.Message || string(e.Data) != string(tc.want.Data) {
				t.Fatalf("got %+v, want %+v", e, tc.want)
			}
		})
	}
}

func TestErrorMarshalEscapesAndData(t *testing.T) {
	e := &Error{Code: 20, Message: "bad \"worker\"\n", Data: json.RawMessage(`{"tb":1}`)}
	b, _ := json.Marshal(e)
	if string(b) != `[20,"bad \"worker\"\n",{"tb":1}]` {
		t.Fatalf("marshal = %s", b)
	}
	var back Error
	if err := json.Unmarshal(b, &back); err != nil || back.Message != e.Message {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	bad := &Error{Code: 20, Message: "x", Data: json.RawMessage(`{`)}
	if b, _ := json.Marshal(bad); string(b) != `[20,"x",null]` {
		t.Fatalf("invalid data not replaced by null: %s", b)
	}
}
