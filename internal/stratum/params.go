package stratum

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds enforced by the parsers. They are codec sanity limits, far above
// what any real miner or pool sends; policy limits belong to the gateway.
const (
	MaxNameLength        = 256 // user, worker, password, user agent, session id
	MaxJobIDLength       = 64
	MaxExtranonceSize    = 32 // bytes, extranonce1 or extranonce2
	MaxConfigureExts     = 16
	MaxCoinbasePartBytes = 64 << 10 // coinb1 or coinb2, decoded
	MaxMerkleBranch      = 32       // 2^32 transactions
)

// --- raw value helpers ---------------------------------------------------

// rawString decodes a JSON string value. Strings without escapes are sliced
// without going through encoding/json.
func rawString(raw json.RawMessage) (string, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' {
		body := raw[1 : n-1]
		if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) && !hasControl(body) {
			return string(body), nil
		}
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' {
		return "", errNotString
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

type constError string

func (e constError) Error() string { return string(e) }

const errNotString = constError("not a string")

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// splitParams decodes a params array and checks its length. Absent or null
// params count as an empty array.
func splitParams(method string, params json.RawMessage, minN, maxN int) ([]json.RawMessage, *Error) {
	var a []json.RawMessage
	if len(params) > 0 && !isNull(params) {
		if params[0] != '[' || !validJSON(params) {
			return nil, invalidParams(method, "params must be an array")
		}
		var ok bool
		a, ok = splitArray(params, make([]json.RawMessage, 0, 6))
		if !ok {
			return nil, invalidParams(method, "params must be an array")
		}
	}
	if len(a) < minN || len(a) > maxN {
		if minN == maxN {
			return nil, invalidParams(method, "expected %d params, got %d", minN, len(a))
		}
		return nil, invalidParams(method, "expected %d to %d params, got %d", minN, maxN, len(a))
	}
	return a, nil
}

// stringParam decodes params[i] as a string of at most maxLen bytes.
// allowNull makes null read as "".
func stringParam(method, name string, raw json.RawMessage, maxLen int, allowNull bool) (string, *Error) {
	if isNull(raw) {
		if allowNull {
			return "", nil
		}
		return "", invalidParams(method, "%s must be a string, got null", name)
	}
	s, err := rawString(raw)
	if err != nil {
		return "", invalidParams(method, "%s must be a string", name)
	}
	if len(s) > maxLen {
		return "", invalidParams(method, "%s longer than %d bytes", name, maxLen)
	}
	return s, nil
}

// hexParam decodes params[i] as an even-length hex string of at most maxBytes.
func hexParam(method, name string, raw json.RawMessage, maxBytes int) ([]byte, *Error) {
	s, e := stringParam(method, name, raw, math.MaxInt, false)
	if e != nil {
		return nil, e
	}
	if len(s) > 2*maxBytes {
		return nil, invalidParams(method, "%s longer than %d bytes", name, maxBytes)
	}
	if len(s)%2 != 0 {
		return nil, invalidParams(method, "%s must have an even number of hex digits", name)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, invalidParams(method, "%s is not hex", name)
	}
	return b, nil
}

// hex32Param decodes params[i] as exactly 8 hex digits (a big-endian uint32).
func hex32Param(method, name string, raw json.RawMessage) (uint32, *Error) {
	s, e := stringParam(method, name, raw, 16, false)
	if e != nil {
		return 0, e
	}
	v, ok := parseHex32(s)
	if !ok {
		return 0, invalidParams(method, "%s must be 8 hex characters", name)
	}
	return v, nil
}

func parseHex32(s string) (uint32, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var v uint32
	for i := 0; i < 8; i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	return v, true
}

// numberParam decodes a JSON number (not a numeric string).
func numberParam(method, name string, raw json.RawMessage) (float64, *Error) {
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return 0, invalidParams(method, "%s must be a number", name)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, invalidParams(method, "%s out of range", name)
	}
	return f, nil
}

// intParam decodes a JSON number that must be an integer in [lo, hi].
func intParam(method, name string, raw json.RawMessage, lo, hi int) (int, *Error) {
	f, e := numberParam(method, name, raw)
	if e != nil {
		return 0, e
	}
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, invalidParams(method, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return int(f), nil
}

func boolParam(method, name string, raw json.RawMessage) (bool, *Error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidParams(method, "%s must be true or false", name)
}

// --- mining.subscribe ----------------------------------------------------

// SubscribeParams are the params of mining.subscribe:
// [user_agent, session_id, host, port], all optional.
type SubscribeParams struct {
	UserAgent string // "" when absent
	SessionID string // extranonce1/session the miner asks to resume; "" when absent or null
}

// ParseSubscribe parses mining.subscribe params. The optional third and
// fourth params (the host and port the miner dialled) are checked for type
// and otherwise ignored.
func ParseSubscribe(params json.RawMessage) (SubscribeParams, error) {
	const m = MethodSubscribe
	a, e := splitParams(m, params, 0, 4)
	if e != nil {
		return SubscribeParams{}, e
	}
	var p SubscribeParams
	if len(a) > 0 {
		if p.UserAgent, e = stringParam(m, "user agent", a[0], MaxNameLength, true); e != nil {
			return SubscribeParams{}, e
		}
	}
	if len(a) > 1 {
		if p.SessionID, e = stringParam(m, "session id", a[1], MaxNameLength, true); e != nil {
			return SubscribeParams{}, e
		}
	}
	if len(a) > 2 {
		if _, e = stringParam(m, "host", a[2], MaxNameLength, true); e != nil {
			return SubscribeParams{}, e
		}
	}
	if len(a) > 3 && !isNull(a[3]) {
		if _, e = portValue(m, a[3]); e != nil {
			return SubscribeParams{}, e
		}
	}
	return p, nil
}

// portValue accepts a port as a number or a numeric string.
func portValue(method string, raw json.RawMessage) (int, *Error) {
	if len(raw) > 0 && raw[0] == '"' {
		s, err := rawString(raw)
		if err != nil {
			return 0, invalidParams(method, "port must be a number")
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 65535 {
			return 0, invalidParams(method, "port must be an integer from 0 to 65535")
		}
		return n, nil
	}
	return intParam(method, "port", raw, 0, 65535)
}

// --- mining.authorize ----------------------------------------------------

// AuthorizeParams are the params of mining.authorize: [user, password].
type AuthorizeParams struct {
	User string // "account.worker" by convention; never empty
	Pass string // "" when absent or null
}

// ParseAuthorize parses mining.authorize params.
func ParseAuthorize(params json.RawMessage) (AuthorizeParams, error) {
	const m = MethodAuthorize
	a, e := splitParams(m, params, 1, 2)
	if e != nil {
		return AuthorizeParams{}, e
	}
	var p AuthorizeParams
	if p.User, e = stringParam(m, "user", a[0], MaxNameLength, false); e != nil {
		return AuthorizeParams{}, e
	}
	if p.User == "" {
		return AuthorizeParams{}, invalidParams(m, "user must not be empty")
	}
	if len(a) > 1 {
		if p.Pass, e = stringParam(m, "password", a[1], MaxNameLength, true); e != nil {
			return AuthorizeParams{}, e
		}
	}
	return p, nil
}

// --- mining.submit -------------------------------------------------------

// SubmitParams are the params of mining.submit:
// [worker, job_id, extranonce2, ntime, nonce(, version_bits)].
type SubmitParams struct {
	Worker      string
	JobID       string
	Extranonce2 []byte
	NTime       uint32 // as in the header (the wire form is its big-endian hex)
	Nonce       uint32 // as in the header
	// VersionBits is the BIP310 sixth param, valid when HasVersionBits.
	VersionBits    uint32
	HasVersionBits bool
}

// ParseSubmit parses mining.submit params. It checks syntax only; the job,
// extranonce2 size, ntime window and version mask are session state, see
// CheckExtranonce2Size, CheckVersionBits and Version.
func ParseSubmit(params json.RawMessage) (SubmitParams, error) {
	const m = MethodSubmit
	a, e := splitParams(m, params, 5, 6)
	if e != nil {
		return SubmitParams{}, e
	}
	var p SubmitParams
	if p.Worker, e = stringParam(m, "worker", a[0], MaxNameLength, false); e != nil {
		return SubmitParams{}, e
	}
	if p.Worker == "" {
		return SubmitParams{}, invalidParams(m, "worker must not be empty")
	}
	if p.JobID, e = stringParam(m, "job id", a[1], MaxJobIDLength, false); e != nil {
		return SubmitParams{}, e
	}
	if p.JobID == "" {
		return SubmitParams{}, invalidParams(m, "job id must not be empty")
	}
	if p.Extranonce2, e = hexParam(m, "extranonce2", a[2], MaxExtranonceSize); e != nil {
		return SubmitParams{}, e
	}
	if p.NTime, e = hex32Param(m, "ntime", a[3]); e != nil {
		return SubmitParams{}, e
	}
	if p.Nonce, e = hex32Param(m, "nonce", a[4]); e != nil {
		return SubmitParams{}, e
	}
	if len(a) == 6 {
		if p.VersionBits, e = hex32Param(m, "version bits", a[5]); e != nil {
			return SubmitParams{}, e
		}
		p.HasVersionBits = true
	}
	return p, nil
}

// CheckExtranonce2Size returns ErrExtranonce2Size unless the submitted
// extranonce2 is exactly size bytes.
func (p *SubmitParams) CheckExtranonce2Size(size int) error {
	if len(p.Extranonce2) != size {
		return ErrExtranonce2Size
	}
	return nil
}

// CheckVersionBits validates the BIP310 version bits against the session's
// negotiated mask (0 when version rolling was not negotiated): bits outside
// the mask give ErrVersionBitsOutsideMask; version bits without negotiation
// give ErrVersionRollingDisabled.
func (p *SubmitParams) CheckVersionBits(mask uint32) error {
	if !p.HasVersionBits {
		return nil
	}
	if mask == 0 {
		return ErrVersionRollingDisabled
	}
	if p.VersionBits&^mask != 0 {
		return ErrVersionBitsOutsideMask
	}
	return nil
}

// Version returns the block version of the share per BIP310:
// (jobVersion &^ mask) | (versionBits & mask), or jobVersion when no
// version bits were submitted.
func (p *SubmitParams) Version(jobVersion, mask uint32) uint32 {
	if !p.HasVersionBits {
		return jobVersion
	}
	return jobVersion&^mask | p.VersionBits&mask
}

// --- mining.configure (BIP310) -------------------------------------------

// Extension codes defined by BIP310.
const (
	ExtVersionRolling      = "version-rolling"
	ExtMinimumDifficulty   = "minimum-difficulty"
	ExtSubscribeExtranonce = "subscribe-extranonce"
	ExtInfo                = "info"
)

// ConfigureParams are the params of mining.configure:
// [extensions, extension-parameters].
type ConfigureParams struct {
	Extensions []string
	Params     map[string]json.RawMessage

	order []string // Params keys in the order they were parsed
}

// VersionRollingRequest is what a miner asks for with "version-rolling".
type VersionRollingRequest struct {
	Mask        uint32 // bits the miner can roll; BIP310 default ffffffff
	MinBitCount int    // 0 when absent
}

// ParseConfigure parses mining.configure params. The extension list must be
// non-empty strings (no duplicates); the parameter map may be absent. The
// parameters of known extensions are validated here, so the accessors below
// cannot fail on a value ParseConfigure accepted.
func ParseConfigure(params json.RawMessage) (ConfigureParams, error) {
	const m = MethodConfigure
	a, e := splitParams(m, params, 1, 2)
	if e != nil {
		return ConfigureParams{}, e
	}
	var p ConfigureParams
	if len(a[0]) == 0 || a[0][0] != '[' {
		return ConfigureParams{}, invalidParams(m, "extensions must be an array of strings")
	}
	var exts []json.RawMessage
	if err := json.Unmarshal(a[0], &exts); err != nil {
		return ConfigureParams{}, invalidParams(m, "extensions must be an array of strings")
	}
	if len(exts) > MaxConfigureExts {
		return ConfigureParams{}, invalidParams(m, "more than %d extensions", MaxConfigureExts)
	}
	for _, raw := range exts {
		s, e := stringParam(m, "extension", raw, 64, false)
		if e != nil {
			return ConfigureParams{}, e
		}
		if s == "" {
			return ConfigureParams{}, invalidParams(m, "empty extension code")
		}
		if p.Has(s) {
			return ConfigureParams{}, invalidParams(m, "duplicate extension %q", s)
		}
		p.Extensions = append(p.Extensions, s)
	}
	p.Params = map[string]json.RawMessage{}
	if len(a) == 2 && !isNull(a[1]) {
		keys, obj, err := decodeObject(a[1])
		if err != nil {
			return ConfigureParams{}, invalidParams(m, "extension parameters must be an object")
		}
		p.Params, p.order = obj, keys
		if len(p.Params) > 4*MaxConfigureExts {
			return ConfigureParams{}, invalidParams(m, "too many extension parameters")
		}
	}
	if p.Has(ExtVersionRolling) {
		if _, e := p.versionRolling(); e != nil {
			return ConfigureParams{}, e
		}
	}
	if p.Has(ExtMinimumDifficulty) {
		if _, e := p.minimumDifficulty(); e != nil {
			return ConfigureParams{}, e
		}
	}
	return p, nil
}

// Has reports whether the miner listed the extension code.
func (p ConfigureParams) Has(ext string) bool {
	for _, x := range p.Extensions {
		if x == ext {
			return true
		}
	}
	return false
}

// VersionRolling returns the miner's version-rolling request and whether it
// asked for version rolling at all.
func (p ConfigureParams) VersionRolling() (VersionRollingRequest, bool) {
	if !p.Has(ExtVersionRolling) {
		return VersionRollingRequest{}, false
	}
	r, e := p.versionRolling()
	if e != nil {
		return VersionRollingRequest{}, false
	}
	return r, true
}

func (p ConfigureParams) versionRolling() (VersionRollingRequest, *Error) {
	const m = MethodConfigure
	r := VersionRollingRequest{Mask: 0xffffffff}
	if raw, ok := p.Params["version-rolling.mask"]; ok {
		v, e := hex32Param(m, "version-rolling.mask", raw)
		if e != nil {
			return r, e
		}
		r.Mask = v
	}
	if raw, ok := p.Params["version-rolling.min-bit-count"]; ok {
		n, e := intParam(m, "version-rolling.min-bit-count", raw, 0, 32)
		if e != nil {
			return r, e
		}
		r.MinBitCount = n
	}
	return r, nil
}

// MinimumDifficulty returns "minimum-difficulty.value" and whether the miner
// asked for the extension.
func (p ConfigureParams) MinimumDifficulty() (float64, bool) {
	if !p.Has(ExtMinimumDifficulty) {
		return 0, false
	}
	v, e := p.minimumDifficulty()
	if e != nil {
		return 0, false
	}
	return v, true
}

func (p ConfigureParams) minimumDifficulty() (float64, *Error) {
	raw, ok := p.Params["minimum-difficulty.value"]
	if !ok {
		return 0, invalidParams(MethodConfigure, "minimum-difficulty.value is required")
	}
	v, e := numberParam(MethodConfigure, "minimum-difficulty.value", raw)
	if e != nil {
		return 0, e
	}
	if v < 0 {
		return 0, invalidParams(MethodConfigure, "minimum-difficulty.value must be >= 0")
	}
	return v, nil
}

// --- mining.suggest_difficulty, extranonce.subscribe, get_transactions ---

// ParseSuggestDifficulty parses mining.suggest_difficulty params: one JSON
// number, fractional allowed, finite and > 0.
func ParseSuggestDifficulty(params json.RawMessage) (float64, error) {
	const m = MethodSuggestDifficulty
	a, e := splitParams(m, params, 1, 1)
	if e != nil {
		return 0, e
	}
	d, e := positiveDifficulty(m, a[0])
	if e != nil {
		return 0, e
	}
	return d, nil
}

func positiveDifficulty(method string, raw json.RawMessage) (float64, *Error) {
	d, e := numberParam(method, "difficulty", raw)
	if e != nil {
		return 0, e
	}
	if !(d > 0) {
		return 0, invalidParams(method, "difficulty must be > 0")
	}
	return d, nil
}

// ParseExtranonceSubscribe checks mining.extranonce.subscribe params, which
// must be empty.
func ParseExtranonceSubscribe(params json.RawMessage) error {
	if _, e := splitParams(MethodExtranonceSubscribe, params, 0, 0); e != nil {
		return e
	}
	return nil
}

// ParseGetTransactions parses mining.get_transactions params: an optional
// job id ("" when absent).
func ParseGetTransactions(params json.RawMessage) (string, error) {
	const m = MethodGetTransactions
	a, e := splitParams(m, params, 0, 1)
	if e != nil {
		return "", e
	}
	if len(a) == 0 {
		return "", nil
	}
	id, e := stringParam(m, "job id", a[0], MaxJobIDLength, true)
	if e != nil {
		return "", e
	}
	return id, nil
}

// ParseClientParams parses the params of any client method and returns the
// typed value: SubscribeParams, AuthorizeParams, SubmitParams,
// ConfigureParams, float64 (suggest_difficulty), string (get_transactions
// job id) or nil (extranonce.subscribe). Unknown methods give
// ErrMethodNotFound with the method in its message.
func ParseClientParams(method string, params json.RawMessage) (any, error) {
	switch method {
	case MethodSubscribe:
		return ParseSubscribe(params)
	case MethodAuthorize:
		return ParseAuthorize(params)
	case MethodSubmit:
		return ParseSubmit(params)
	case MethodConfigure:
		return ParseConfigure(params)
	case MethodSuggestDifficulty:
		return ParseSuggestDifficulty(params)
	case MethodExtranonceSubscribe:
		return nil, ParseExtranonceSubscribe(params)
	case MethodGetTransactions:
		return ParseGetTransactions(params)
	}
	return nil, NewError(CodeMethodNotFound, "Method not found: "+truncate(method, MaxMethodLength))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// decodeObject decodes a JSON object into a map and its keys in input order
// (a repeated key keeps its first position and its last value).
func decodeObject(raw json.RawMessage) ([]string, map[string]json.RawMessage, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, nil, errNotObject
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	var keys []string
	obj := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, nil, errNotObject
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := obj[k]; !dup {
			keys = append(keys, k)
		}
		obj[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	return keys, obj, nil
}

const errNotObject = constError("not an object")

// paramKeys returns p.Params' keys: in parse order when p came from
// ParseConfigure, sorted otherwise.
func (p ConfigureParams) paramKeys() []string {
	if len(p.order) == len(p.Params) {
		same := true
		for _, k := range p.order {
			if _, ok := p.Params[k]; !ok {
				same = false
				break
			}
		}
		if same {
			return p.order
		}
	}
	return sortedKeys(p.Params)
}

// sortedKeys returns m's keys in order, for deterministic output.
func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
