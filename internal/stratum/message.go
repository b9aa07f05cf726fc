package stratum

import (
	"bytes"
	"encoding/json"
)

// Method names.
const (
	// Client → server.
	MethodSubscribe           = "mining.subscribe"
	MethodAuthorize           = "mining.authorize"
	MethodSubmit              = "mining.submit"
	MethodConfigure           = "mining.configure"
	MethodSuggestDifficulty   = "mining.suggest_difficulty"
	MethodExtranonceSubscribe = "mining.extranonce.subscribe"
	MethodGetTransactions     = "mining.get_transactions"

	// Server → client.
	MethodNotify         = "mining.notify"
	MethodSetDifficulty  = "mining.set_difficulty"
	MethodSetExtranonce  = "mining.set_extranonce"
	MethodSetVersionMask = "mining.set_version_mask"
	MethodReconnect      = "client.reconnect"
)

// MaxMethodLength bounds a method name; longer names are invalid requests.
const MaxMethodLength = 64

// Request is a JSON-RPC request or, with a null or absent ID, a notification.
// ID is the raw JSON id (a number, a string or null) and must be echoed
// unchanged in the response; Params is the raw params array (nil or "null"
// when absent).
type Request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// Response answers a request. Exactly one of Result and Error is meaningful;
// a nil Result is written as null.
type Response struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
}

// Notification is a request with a null id that expects no response, such
// as mining.notify.
type Notification struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// Message is any line a Stratum peer may send, as the client sees it: a
// request or notification (Method set) or a response (Method empty).
type Message struct {
	ID     json.RawMessage
	Method string
	Params json.RawMessage
	Result json.RawMessage
	Error  *Error
}

// IsResponse reports whether m answers a request rather than being one.
func (m *Message) IsResponse() bool { return m.Method == "" }

// Response returns m as a Response.
func (m *Message) Response() Response { return Response{ID: m.ID, Result: m.Result, Error: m.Error} }

// Notification returns m as a Notification.
func (m *Message) Notification() Notification {
	return Notification{Method: m.Method, Params: m.Params}
}

// wireMessage is the superset of members any message may carry.
type wireMessage struct {
	ID     json.RawMessage `json:"id"`
	Method json.RawMessage `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

var (
	keyID     = []byte("id")
	keyMethod = []byte("method")
	keyParams = []byte("params")
	keyResult = []byte("result")
	keyError  = []byte("error")
)

// decodeWire splits one line into its members, classifying failures as
// -32700 (not JSON) or -32600 (JSON but not an object). Members are matched
// like encoding/json matches struct fields (case-insensitively, last one
// wins). The returned raw members point into a private copy of line, never
// into line itself, so they stay valid after the LineReader moves on.
func decodeWire(line []byte) (wireMessage, *Error) {
	var w wireMessage
	if !validJSON(line) {
		return w, NewError(CodeParseError, "Parse error: line is not valid JSON")
	}
	if firstByte(line) != '{' {
		return w, NewError(CodeInvalidRequest, "Invalid request: message must be a JSON object")
	}
	own := append([]byte(nil), line...)
	eachMember(own, func(key, value []byte) {
		switch {
		case keyIs(key, keyID):
			w.ID = value
		case keyIs(key, keyMethod):
			w.Method = value
		case keyIs(key, keyParams):
			w.Params = value
		case keyIs(key, keyResult):
			w.Result = value
		case keyIs(key, keyError):
			w.Error = value
		}
	})
	return w, nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// validID reports whether raw is an acceptable id: absent, null, a number
// or a string.
func validID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return true
	}
	switch c := raw[0]; {
	case c == 'n', c == '"', c == '-', c >= '0' && c <= '9':
		return true
	}
	return false
}

// DecodeRequest decodes one line sent by a miner. On failure the returned
// error is an *Error with CodeParseError or CodeInvalidRequest; the Request
// then still carries the id when one could be read, so the caller can answer
// it (a null id otherwise).
func DecodeRequest(line []byte) (Request, error) {
	w, e := decodeWire(line)
	if e != nil {
		return Request{}, e
	}
	req := Request{Params: w.Params}
	if validID(w.ID) {
		req.ID = w.ID
	} else {
		return req, NewError(CodeInvalidRequest, "Invalid request: id must be a number, string or null")
	}
	if len(w.Method) == 0 || isNull(w.Method) || w.Method[0] != '"' {
		return req, NewError(CodeInvalidRequest, "Invalid request: method must be a string")
	}
	m, ok := knownMethod(w.Method)
	if !ok {
		var err error
		m, err = rawString(w.Method)
		if err != nil || m == "" || len(m) > MaxMethodLength {
			return req, NewError(CodeInvalidRequest, "Invalid request: bad method name")
		}
	}
	req.Method = m
	if len(w.Params) > 0 && !isNull(w.Params) && w.Params[0] != '[' {
		return req, NewError(CodeInvalidRequest, "Invalid request: params must be an array")
	}
	return req, nil
}

// clientMethods are the methods a miner sends, quoted as on the wire.
var clientMethods = [...]string{MethodSubmit, MethodSubscribe, MethodAuthorize, MethodConfigure,
	MethodSuggestDifficulty, MethodExtranonceSubscribe, MethodGetTransactions}

// knownMethod returns the constant for a raw method string spelled exactly
// like a client method (no escapes), so the common requests allocate no
// method name.
func knownMethod(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	for _, m := range clientMethods {
		if string(body) == m {
			return m, true
		}
	}
	return "", false
}

// DecodeMessage decodes one line sent by a pool: a response (no method) or
// a request/notification (method set). A response's "error" may be null,
// false (sent by some pools), an array, an object or a string. Errors are
// *Error values as for DecodeRequest.
func DecodeMessage(line []byte) (Message, error) {
	w, e := decodeWire(line)
	if e != nil {
		return Message{}, e
	}
	if !validID(w.ID) {
		return Message{}, NewError(CodeInvalidRequest, "Invalid message: id must be a number, string or null")
	}
	m := Message{ID: w.ID, Params: w.Params, Result: w.Result}
	if len(w.Method) > 0 && !isNull(w.Method) {
		name, err := rawString(w.Method)
		if err != nil || name == "" || len(name) > MaxMethodLength {
			return Message{}, NewError(CodeInvalidRequest, "Invalid message: bad method name")
		}
		m.Method = name
		if len(w.Params) > 0 && !isNull(w.Params) && w.Params[0] != '[' {
			return Message{}, NewError(CodeInvalidRequest, "Invalid message: params must be an array")
		}
		return m, nil
	}
	if len(w.Error) > 0 && !isNull(w.Error) && string(w.Error) != "false" {
		var se Error
		if err := se.UnmarshalJSON(w.Error); err != nil {
			return Message{}, NewError(CodeInvalidRequest, "Invalid message: "+err.Error())
		}
		m.Error = &se
	}
	if len(w.Result) == 0 && len(w.Error) == 0 {
		return Message{}, NewError(CodeInvalidRequest, "Invalid message: neither a method nor a result or error")
	}
	return m, nil
}

// IDString returns a request id as text for logs ("null" when absent).
func IDString(id json.RawMessage) string {
	if len(id) == 0 {
		return "null"
	}
	return string(id)
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 4 && string(raw) == "null"
}
