package stratum

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Code is a Stratum v1 error code: the 20–25 table every miner knows, plus
// the JSON-RPC 2.0 codes for malformed input.
type Code int

// The one error-code table.
const (
	CodeOther          Code = 20 // Other/Unknown
	CodeJobNotFound    Code = 21 // Job not found (= stale)
	CodeDuplicateShare Code = 22 // Duplicate share
	CodeLowDifficulty  Code = 23 // Low difficulty share
	CodeUnauthorized   Code = 24 // Unauthorized worker
	CodeNotSubscribed  Code = 25 // Not subscribed

	CodeParseError     Code = -32700 // the line is not JSON
	CodeInvalidRequest Code = -32600 // JSON, but not a request
	CodeMethodNotFound Code = -32601 // unknown method
	CodeInvalidParams  Code = -32602 // known method, bad params
)

// String returns the code's standard message.
func (c Code) String() string {
	switch c {
	case CodeOther:
		return "Other/Unknown"
	case CodeJobNotFound:
		return "Job not found"
	case CodeDuplicateShare:
		return "Duplicate share"
	case CodeLowDifficulty:
		return "Low difficulty share"
	case CodeUnauthorized:
		return "Unauthorized worker"
	case CodeNotSubscribed:
		return "Not subscribed"
	case CodeParseError:
		return "Parse error"
	case CodeInvalidRequest:
		return "Invalid request"
	case CodeMethodNotFound:
		return "Method not found"
	case CodeInvalidParams:
		return "Invalid params"
	}
	return "Error " + strconv.Itoa(int(c))
}

// Error is a Stratum error as carried in a response's "error" member. It
// marshals as the conventional [code, "message", data] array (data is
// normally null; some pools put a traceback there) and unmarshals from that
// array, from a JSON-RPC 2.0 {"code","message","data"} object, or from a bare
// string (code 20).
type Error struct {
	Code    Code
	Message string
	Data    json.RawMessage // nil marshals as null
}

// NewError returns an Error with the given code and message; an empty message
// means the code's standard one.
func NewError(code Code, message string) *Error {
	if message == "" {
		message = code.String()
	}
	return &Error{Code: code, Message: message}
}

// Canonical errors, one per code. errors.Is(err, ErrJobNotFound) is true for
// every *Error with code 21 whatever its message; match the detailed errors
// below by identity of code and message.
var (
	ErrOther          = NewError(CodeOther, "")
	ErrJobNotFound    = NewError(CodeJobNotFound, "")
	ErrDuplicateShare = NewError(CodeDuplicateShare, "")
	ErrLowDifficulty  = NewError(CodeLowDifficulty, "")
	ErrUnauthorized   = NewError(CodeUnauthorized, "")
	ErrNotSubscribed  = NewError(CodeNotSubscribed, "")
	ErrParse          = NewError(CodeParseError, "")
	ErrInvalidRequest = NewError(CodeInvalidRequest, "")
	ErrMethodNotFound = NewError(CodeMethodNotFound, "")
	ErrInvalidParams  = NewError(CodeInvalidParams, "")
)

// Detailed share-check errors the gateway sends; code 20 (Other) as no
// dedicated code exists for them.
var (
	ErrNTimeOutOfRange        = NewError(CodeOther, "ntime out of range")
	ErrVersionBitsOutsideMask = NewError(CodeOther, "invalid version bits outside mask")
	ErrExtranonce2Size        = NewError(CodeOther, "extranonce2 wrong size")
	ErrVersionRollingDisabled = NewError(CodeOther, "version rolling not negotiated")
)

func canonical(c Code) *Error {
	switch c {
	case CodeOther:
		return ErrOther
	case CodeJobNotFound:
		return ErrJobNotFound
	case CodeDuplicateShare:
		return ErrDuplicateShare
	case CodeLowDifficulty:
		return ErrLowDifficulty
	case CodeUnauthorized:
		return ErrUnauthorized
	case CodeNotSubscribed:
		return ErrNotSubscribed
	case CodeParseError:
		return ErrParse
	case CodeInvalidRequest:
		return ErrInvalidRequest
	case CodeMethodNotFound:
		return ErrMethodNotFound
	case CodeInvalidParams:
		return ErrInvalidParams
	}
	return nil
}

// Error implements error.
func (e *Error) Error() string {
	return "stratum error " + strconv.Itoa(int(e.Code)) + ": " + e.Message
}

// Is reports whether target is the canonical error for e's code, or an
// *Error with the same code and message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Code != e.Code {
		return false
	}
	return t == canonical(e.Code) || t.Message == e.Message
}

// MarshalJSON encodes e as [code, "message", data].
func (e *Error) MarshalJSON() ([]byte, error) {
	return appendError(nil, e), nil
}

// UnmarshalJSON accepts [code, "message"(, data)], {"code":…,"message":…}
// or a bare string.
func (e *Error) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("stratum: empty error")
	}
	switch b[0] {
	case '[':
		var a []json.RawMessage
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		if len(a) < 2 || len(a) > 3 {
			return fmt.Errorf("stratum: error array has %d elements, want 2 or 3", len(a))
		}
		code, err := errorCode(a[0])
		if err != nil {
			return err
		}
		var msg string
		if !isNull(a[1]) {
			if err := json.Unmarshal(a[1], &msg); err != nil {
				return fmt.Errorf("stratum: error message: %w", err)
			}
		}
		*e = Error{Code: code, Message: msg}
		if len(a) == 3 && !isNull(a[2]) {
			e.Data = a[2]
		}
		return nil
	case '{':
		var o struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		code, err := errorCode(o.Code)
		if err != nil {
			return err
		}
		*e = Error{Code: code, Message: o.Message}
		if len(o.Data) > 0 && !isNull(o.Data) {
			e.Data = o.Data
		}
		return nil
	case '"':
		var msg string
		if err := json.Unmarshal(b, &msg); err != nil {
			return err
		}
		*e = Error{Code: CodeOther, Message: msg}
		return nil
	}
	return fmt.Errorf("stratum: error must be an array, object or string")
}

func errorCode(raw json.RawMessage) (Code, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || isNull(raw) {
		return 0, fmt.Errorf("stratum: error code must be a number")
	}
	if f != float64(int32(f)) {
		return 0, fmt.Errorf("stratum: error code %v is not an integer", f)
	}
	return Code(int32(f)), nil
}

// invalidParams returns a -32602 error whose message names the method.
func invalidParams(method, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParams, Message: method + ": " + fmt.Sprintf(format, args...)}
}
