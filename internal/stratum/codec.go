package stratum

import (
	"encoding/json"
	"strconv"

	"github.com/jetpool/jetpool/internal/jsonenc"
)

// Every Append* function below appends exactly one complete line, including
// its trailing '\n', and returns the extended slice.

// --- mining.notify -------------------------------------------------------

// Notify is a mining.notify job.
type Notify struct {
	JobID string
	// PrevHash is the previous block hash in block-header byte order (the
	// order chainhash stores it, the reverse of the usual display hex). On
	// the wire each 4-byte word is byte-swapped; AppendNotify and
	// ParseNotify do that conversion.
	PrevHash [32]byte
	Coinb1   []byte
	Coinb2   []byte
	// MerkleBranch holds the hashes to fold the coinbase txid with, in
	// header byte order, sent unchanged.
	MerkleBranch [][32]byte
	Version      uint32
	NBits        uint32
	NTime        uint32
	CleanJobs    bool
}

// swapWords byte-swaps each 4-byte word of h: header order ⇄ Stratum order.
func swapWords(h *[32]byte) [32]byte {
	var w [32]byte
	for i := 0; i < 32; i += 4 {
		w[i], w[i+1], w[i+2], w[i+3] = h[i+3], h[i+2], h[i+1], h[i]
	}
	return w
}

// AppendNotify appends a mining.notify notification:
// [job_id, prevhash, coinb1, coinb2, merkle_branch, version, nbits, ntime, clean_jobs].
func AppendNotify(dst []byte, n *Notify) []byte {
	dst = appendNotificationHead(dst, MethodNotify)
	dst = jsonenc.AppendString(dst, n.JobID)
	dst = append(dst, ',')
	w := swapWords(&n.PrevHash)
	dst = appendHexString(dst, w[:])
	dst = append(dst, ',')
	dst = appendHexString(dst, n.Coinb1)
	dst = append(dst, ',')
	dst = appendHexString(dst, n.Coinb2)
	dst = append(dst, ",["...)
	for i := range n.MerkleBranch {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendHexString(dst, n.MerkleBranch[i][:])
	}
	dst = append(dst, "],"...)
	dst = appendUint32Hex(dst, n.Version)
	dst = append(dst, ',')
	dst = appendUint32Hex(dst, n.NBits)
	dst = append(dst, ',')
	dst = appendUint32Hex(dst, n.NTime)
	if n.CleanJobs {
		dst = append(dst, ",true"...)
	} else {
		dst = append(dst, ",false"...)
	}
	return closeMessage(dst)
}

// ParseNotify parses mining.notify params (exactly nine).
func ParseNotify(params json.RawMessage) (Notify, error) {
	const m = MethodNotify
	a, e := splitParams(m, params, 9, 9)
	if e != nil {
		return Notify{}, e
	}
	var n Notify
	if n.JobID, e = stringParam(m, "job id", a[0], MaxJobIDLength, false); e != nil {
		return Notify{}, e
	}
	if n.JobID == "" {
		return Notify{}, invalidParams(m, "job id must not be empty")
	}
	ph, e := hexParam(m, "prevhash", a[1], 32)
	if e != nil {
		return Notify{}, e
	}
	if len(ph) != 32 {
		return Notify{}, invalidParams(m, "prevhash must be 32 bytes")
	}
	n.PrevHash = swapWords((*[32]byte)(ph))
	if n.Coinb1, e = hexParam(m, "coinb1", a[2], MaxCoinbasePartBytes); e != nil {
		return Notify{}, e
	}
	if n.Coinb2, e = hexParam(m, "coinb2", a[3], MaxCoinbasePartBytes); e != nil {
		return Notify{}, e
	}
	var branch []json.RawMessage
	if len(a[4]) == 0 || a[4][0] != '[' || json.Unmarshal(a[4], &branch) != nil {
		return Notify{}, invalidParams(m, "merkle branch must be an array")
	}
	if len(branch) > MaxMerkleBranch {
		return Notify{}, invalidParams(m, "merkle branch longer than %d", MaxMerkleBranch)
	}
	if len(branch) > 0 {
		n.MerkleBranch = make([][32]byte, len(branch))
	}
	for i, raw := range branch {
		b, e := hexParam(m, "merkle branch entry", raw, 32)
		if e != nil {
			return Notify{}, e
		}
		if len(b) != 32 {
			return Notify{}, invalidParams(m, "merkle branch entry %d must be 32 bytes", i)
		}
		n.MerkleBranch[i] = [32]byte(b)
	}
	if n.Version, e = hex32Param(m, "version", a[5]); e != nil {
		return Notify{}, e
	}
	if n.NBits, e = hex32Param(m, "nbits", a[6]); e != nil {
		return Notify{}, e
	}
	if n.NTime, e = hex32Param(m, "ntime", a[7]); e != nil {
		return Notify{}, e
	}
	if n.CleanJobs, e = boolParam(m, "clean_jobs", a[8]); e != nil {
		return Notify{}, e
	}
	return n, nil
}

// --- other notifications ---------------------------------------------------

// AppendSetDifficulty appends mining.set_difficulty [difficulty]. The caller
// passes a finite difficulty > 0.
func AppendSetDifficulty(dst []byte, difficulty float64) []byte {
	dst = appendNotificationHead(dst, MethodSetDifficulty)
	dst = appendFloat(dst, difficulty)
	return closeMessage(dst)
}

// ParseSetDifficulty parses mining.set_difficulty params: a finite number > 0.
func ParseSetDifficulty(params json.RawMessage) (float64, error) {
	a, e := splitParams(MethodSetDifficulty, params, 1, 1)
	if e != nil {
		return 0, e
	}
	d, e := positiveDifficulty(MethodSetDifficulty, a[0])
	if e != nil {
		return 0, e
	}
	return d, nil
}

// AppendSetExtranonce appends mining.set_extranonce [extranonce1, extranonce2_size].
func AppendSetExtranonce(dst []byte, extranonce1 []byte, extranonce2Size int) []byte {
	dst = appendNotificationHead(dst, MethodSetExtranonce)
	dst = appendHexString(dst, extranonce1)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(extranonce2Size), 10)
	return closeMessage(dst)
}

// ParseSetExtranonce parses mining.set_extranonce params.
func ParseSetExtranonce(params json.RawMessage) (extranonce1 []byte, extranonce2Size int, err error) {
	const m = MethodSetExtranonce
	a, e := splitParams(m, params, 2, 2)
	if e != nil {
		return nil, 0, e
	}
	en1, e := hexParam(m, "extranonce1", a[0], MaxExtranonceSize)
	if e != nil {
		return nil, 0, e
	}
	size, e := intParam(m, "extranonce2 size", a[1], 0, MaxExtranonceSize)
	if e != nil {
		return nil, 0, e
	}
	return en1, size, nil
}

// AppendSetVersionMask appends mining.set_version_mask [mask].
func AppendSetVersionMask(dst []byte, mask uint32) []byte {
	dst = appendNotificationHead(dst, MethodSetVersionMask)
	dst = appendUint32Hex(dst, mask)
	return closeMessage(dst)
}

// ParseSetVersionMask parses mining.set_version_mask params.
func ParseSetVersionMask(params json.RawMessage) (uint32, error) {
	a, e := splitParams(MethodSetVersionMask, params, 1, 1)
	if e != nil {
		return 0, e
	}
	v, e := hex32Param(MethodSetVersionMask, "mask", a[0])
	if e != nil {
		return 0, e
	}
	return v, nil
}

// MaxReconnectWait bounds client.reconnect's wait, in seconds.
const MaxReconnectWait = 3600

// Reconnect is client.reconnect: reconnect to Host:Port (the current pool
// when Host is empty, the current port when Port is 0) after WaitSeconds.
type Reconnect struct {
	Host        string
	Port        int
	WaitSeconds int
}

// AppendReconnect appends client.reconnect [host, port, wait], or [] when r
// is the zero value (reconnect to the same server at once). An empty Host
// and a zero Port are sent as null: cgminer, bfgminer and sgminer keep their
// current pool for a missing or non-string host or port, but take "" as a
// host (and fail to reconnect) and 0 as a port.
func AppendReconnect(dst []byte, r Reconnect) []byte {
	dst = appendNotificationHead(dst, MethodReconnect)
	if r != (Reconnect{}) {
		if r.Host == "" {
			dst = append(dst, "null"...)
		} else {
			dst = jsonenc.AppendString(dst, r.Host)
		}
		dst = append(dst, ',')
		if r.Port == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = strconv.AppendInt(dst, int64(r.Port), 10)
		}
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(r.WaitSeconds), 10)
	}
	return closeMessage(dst)
}

// ParseReconnect parses client.reconnect params: [host(, port(, wait))], all
// optional; port and wait may be numbers or numeric strings.
func ParseReconnect(params json.RawMessage) (Reconnect, error) {
	const m = MethodReconnect
	a, e := splitParams(m, params, 0, 3)
	if e != nil {
		return Reconnect{}, e
	}
	var r Reconnect
	if len(a) > 0 {
		if r.Host, e = stringParam(m, "host", a[0], MaxNameLength, true); e != nil {
			return Reconnect{}, e
		}
	}
	if len(a) > 1 && !isNull(a[1]) {
		if r.Port, e = portValue(m, a[1]); e != nil {
			return Reconnect{}, e
		}
	}
	if len(a) > 2 && !isNull(a[2]) {
		if len(a[2]) > 0 && a[2][0] == '"' {
			s, _ := rawString(a[2])
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > MaxReconnectWait {
				return Reconnect{}, invalidParams(m, "wait must be an integer from 0 to %d", MaxReconnectWait)
			}
			r.WaitSeconds = n
		} else if r.WaitSeconds, e = intParam(m, "wait", a[2], 0, MaxReconnectWait); e != nil {
			return Reconnect{}, e
		}
	}
	return r, nil
}

// --- responses -------------------------------------------------------------

// AppendResult appends {"id":id,"result":result,"error":null}. result must
// be valid JSON; nil writes null.
func AppendResult(dst []byte, id json.RawMessage, result json.RawMessage) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendID(dst, id)
	dst = append(dst, `,"result":`...)
	if len(result) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, result...)
	}
	return append(dst, `,"error":null}`+"\n"...)
}

// AppendTrue appends the {"id":id,"result":true,"error":null} response that
// answers an accepted share or a successful authorize.
func AppendTrue(dst []byte, id json.RawMessage) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendID(dst, id)
	return append(dst, `,"result":true,"error":null}`+"\n"...)
}

// AppendError appends {"id":id,"result":null,"error":[code,"message",null]}.
func AppendError(dst []byte, id json.RawMessage, e *Error) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendID(dst, id)
	dst = append(dst, `,"result":null,"error":`...)
	dst = appendError(dst, e)
	return append(dst, "}\n"...)
}

// ParseBoolResult reads a true/false result; null reads as false.
func ParseBoolResult(result json.RawMessage) (bool, error) {
	switch string(result) {
	case "true":
		return true, nil
	case "false", "null", "":
		return false, nil
	}
	return false, NewError(CodeInvalidRequest, "result must be true or false")
}

// SubscribeResult is the result of mining.subscribe.
type SubscribeResult struct {
	// Subscriptions lists (method, subscription id) pairs; miners ignore them.
	Subscriptions   [][2]string
	Extranonce1     []byte
	Extranonce2Size int
}

// AppendSubscribeResult appends the mining.subscribe response
// [[["mining.set_difficulty",subID],["mining.notify",subID]],extranonce1,extranonce2_size].
func AppendSubscribeResult(dst []byte, id json.RawMessage, subscriptionID string, extranonce1 []byte, extranonce2Size int) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendID(dst, id)
	dst = append(dst, `,"result":[[["mining.set_difficulty",`...)
	dst = jsonenc.AppendString(dst, subscriptionID)
	dst = append(dst, `],["mining.notify",`...)
	dst = jsonenc.AppendString(dst, subscriptionID)
	dst = append(dst, "]],"...)
	dst = appendHexString(dst, extranonce1)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(extranonce2Size), 10)
	return append(dst, `],"error":null}`+"\n"...)
}

// ParseSubscribeResult parses a mining.subscribe result. The subscription
// list is read leniently (pools vary: nested pairs, one flat pair, or an
// empty list); extranonce1 and extranonce2_size are strict.
func ParseSubscribeResult(result json.RawMessage) (SubscribeResult, error) {
	const m = "mining.subscribe result"
	a, e := splitParams(m, result, 3, 3)
	if e != nil {
		return SubscribeResult{}, e
	}
	var r SubscribeResult
	var subs []json.RawMessage
	if len(a[0]) == 0 || a[0][0] != '[' || json.Unmarshal(a[0], &subs) != nil {
		return SubscribeResult{}, invalidParams(m, "subscriptions must be an array")
	}
	if len(subs) == 2 && subs[0][0] == '"' {
		subs = []json.RawMessage{a[0]} // a single flat pair
	}
	for _, s := range subs {
		var pair []string
		if json.Unmarshal(s, &pair) == nil && len(pair) == 2 {
			r.Subscriptions = append(r.Subscriptions, [2]string{pair[0], pair[1]})
		}
	}
	if r.Extranonce1, e = hexParam(m, "extranonce1", a[1], MaxExtranonceSize); e != nil {
		return SubscribeResult{}, e
	}
	if r.Extranonce2Size, e = intParam(m, "extranonce2 size", a[2], 0, MaxExtranonceSize); e != nil {
		return SubscribeResult{}, e
	}
	return r, nil
}

// ConfigureResult is the result of mining.configure (BIP310).
type ConfigureResult struct {
	// Requested lists the extension codes being answered, in order (the
	// miner's ConfigureParams.Extensions). BIP310 requires an answer for each;
	// codes this type has no field for are answered false. ParseConfigureResult
	// fills it with the answered codes in the order the pool sent them.
	Requested           []string
	VersionRolling      bool
	VersionRollingMask  uint32 // sent when VersionRolling
	MinimumDifficulty   bool
	SubscribeExtranonce bool
}

// AppendConfigureResult appends the mining.configure response, e.g.
// {"version-rolling":true,"version-rolling.mask":"1fffe000"}.
func AppendConfigureResult(dst []byte, id json.RawMessage, r *ConfigureResult) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendID(dst, id)
	dst = append(dst, `,"result":{`...)
	for i, code := range r.Requested {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, code)
		dst = append(dst, ':')
		ok := false
		switch code {
		case ExtVersionRolling:
			ok = r.VersionRolling
		case ExtMinimumDifficulty:
			ok = r.MinimumDifficulty
		case ExtSubscribeExtranonce:
			ok = r.SubscribeExtranonce
		}
		dst = strconv.AppendBool(dst, ok)
		if code == ExtVersionRolling && ok {
			dst = append(dst, `,"version-rolling.mask":`...)
			dst = appendUint32Hex(dst, r.VersionRollingMask)
		}
	}
	return append(dst, `},"error":null}`+"\n"...)
}

// ParseConfigureResult parses a mining.configure result object. An
// extension answered with an error string counts as not enabled.
func ParseConfigureResult(result json.RawMessage) (ConfigureResult, error) {
	const m = "mining.configure result"
	keys, obj, err := decodeObject(result)
	if err != nil {
		return ConfigureResult{}, invalidParams(m, "result must be an object")
	}
	var r ConfigureResult
	for _, k := range keys {
		if containsDot(k) {
			continue
		}
		r.Requested = append(r.Requested, k)
		ok := string(obj[k]) == "true"
		switch k {
		case ExtVersionRolling:
			r.VersionRolling = ok
		case ExtMinimumDifficulty:
			r.MinimumDifficulty = ok
		case ExtSubscribeExtranonce:
			r.SubscribeExtranonce = ok
		}
	}
	if r.VersionRolling {
		raw, ok := obj["version-rolling.mask"]
		if !ok {
			return ConfigureResult{}, invalidParams(m, "version-rolling.mask missing")
		}
		v, e := hex32Param(m, "version-rolling.mask", raw)
		if e != nil {
			return ConfigureResult{}, e
		}
		r.VersionRollingMask = v
	}
	return r, nil
}

func containsDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return true
		}
	}
	return false
}

// --- client requests ---------------------------------------------------------

// AppendSubscribe appends a mining.subscribe request [user_agent(, session_id)].
func AppendSubscribe(dst []byte, id uint64, p SubscribeParams) []byte {
	dst = appendRequestHead(dst, id, MethodSubscribe)
	dst = jsonenc.AppendString(dst, p.UserAgent)
	if p.SessionID != "" {
		dst = append(dst, ',')
		dst = jsonenc.AppendString(dst, p.SessionID)
	}
	return closeMessage(dst)
}

// AppendAuthorize appends a mining.authorize request [user, password].
func AppendAuthorize(dst []byte, id uint64, p AuthorizeParams) []byte {
	dst = appendRequestHead(dst, id, MethodAuthorize)
	dst = jsonenc.AppendString(dst, p.User)
	dst = append(dst, ',')
	dst = jsonenc.AppendString(dst, p.Pass)
	return closeMessage(dst)
}

// AppendSubmit appends a mining.submit request
// [worker, job_id, extranonce2, ntime, nonce(, version_bits)].
func AppendSubmit(dst []byte, id uint64, p *SubmitParams) []byte {
	dst = appendRequestHead(dst, id, MethodSubmit)
	dst = jsonenc.AppendString(dst, p.Worker)
	dst = append(dst, ',')
	dst = jsonenc.AppendString(dst, p.JobID)
	dst = append(dst, ',')
	dst = appendHexString(dst, p.Extranonce2)
	dst = append(dst, ',')
	dst = appendUint32Hex(dst, p.NTime)
	dst = append(dst, ',')
	dst = appendUint32Hex(dst, p.Nonce)
	if p.HasVersionBits {
		dst = append(dst, ',')
		dst = appendUint32Hex(dst, p.VersionBits)
	}
	return closeMessage(dst)
}

// AppendConfigure appends a mining.configure request [extensions, params].
// Parameter values must be valid JSON (invalid ones are written as null);
// keys are written in parse order for parsed params, sorted otherwise.
func AppendConfigure(dst []byte, id uint64, p ConfigureParams) []byte {
	dst = appendRequestHead(dst, id, MethodConfigure)
	dst = append(dst, '[')
	for i, x := range p.Extensions {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, x)
	}
	dst = append(dst, "],{"...)
	for i, k := range p.paramKeys() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, k)
		dst = append(dst, ':')
		if v := p.Params[k]; len(v) > 0 && json.Valid(v) {
			dst = append(dst, v...)
		} else {
			dst = append(dst, "null"...)
		}
	}
	dst = append(dst, '}')
	return closeMessage(dst)
}

// VersionRollingConfigure returns the ConfigureParams asking for version
// rolling with the given mask and minimum bit count.
func VersionRollingConfigure(mask uint32, minBitCount int) ConfigureParams {
	return ConfigureParams{
		Extensions: []string{ExtVersionRolling},
		Params: map[string]json.RawMessage{
			"version-rolling.mask":          appendUint32Hex(nil, mask),
			"version-rolling.min-bit-count": strconv.AppendInt(nil, int64(minBitCount), 10),
		},
		order: []string{"version-rolling.mask", "version-rolling.min-bit-count"},
	}
}

// AppendSuggestDifficulty appends a mining.suggest_difficulty request.
func AppendSuggestDifficulty(dst []byte, id uint64, difficulty float64) []byte {
	dst = appendRequestHead(dst, id, MethodSuggestDifficulty)
	dst = appendFloat(dst, difficulty)
	return closeMessage(dst)
}

// AppendExtranonceSubscribe appends a mining.extranonce.subscribe request.
func AppendExtranonceSubscribe(dst []byte, id uint64) []byte {
	dst = appendRequestHead(dst, id, MethodExtranonceSubscribe)
	return closeMessage(dst)
}
