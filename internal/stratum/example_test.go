package stratum_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jetpool/jetpool/internal/stratum"
)

// A gateway's read loop: bounded lines, typed requests, one error table.
func Example_serverLoop() {
	in := strings.NewReader(`{"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.11.1"]}
{"id": 2, "method": "mining.authorize", "params": ["bc1qexample.rig1", "x"]}
{"id": 3, "method": "mining.submit", "params": ["bc1qexample.rig1", "6a", "0000000000", "64b3f3ec", "ed460d91"]}
not json
{"id": 4, "method": "mining.multi_version", "params": [1]}
`)
	lr := stratum.NewLineReader(in, stratum.DefaultMaxLineLength)
	var out []byte
	for {
		line, err := lr.ReadLine()
		if errors.Is(err, stratum.ErrLineTooLong) {
			out = stratum.AppendError(out[:0], nil, stratum.NewError(stratum.CodeInvalidRequest, "line too long"))
			fmt.Print(string(out))
			continue
		}
		if err == io.EOF {
			return
		}
		req, err := stratum.DecodeRequest(line)
		if err != nil {
			out = stratum.AppendError(out[:0], req.ID, err.(*stratum.Error))
			fmt.Print(string(out))
			continue
		}
		v, err := stratum.ParseClientParams(req.Method, req.Params)
		if err != nil {
			out = stratum.AppendError(out[:0], req.ID, err.(*stratum.Error))
			fmt.Print(string(out))
			continue
		}
		switch p := v.(type) {
		case stratum.SubscribeParams:
			out = stratum.AppendSubscribeResult(out[:0], req.ID, "1f", []byte{0x08, 0, 0, 0x02}, 4)
		case stratum.AuthorizeParams:
			out = stratum.AppendTrue(out[:0], req.ID)
		case stratum.SubmitParams:
			if err := p.CheckExtranonce2Size(4); err != nil {
				out = stratum.AppendError(out[:0], req.ID, err.(*stratum.Error))
				break
			}
			out = stratum.AppendTrue(out[:0], req.ID)
		}
		fmt.Print(string(out))
	}
	// Output:
	// {"id":1,"result":[[["mining.set_difficulty","1f"],["mining.notify","1f"]],"08000002",4],"error":null}
	// {"id":2,"result":true,"error":null}
	// {"id":3,"result":null,"error":[20,"extranonce2 wrong size",null]}
	// {"id":null,"result":null,"error":[-32700,"Parse error: line is not valid JSON",null]}
	// {"id":4,"result":null,"error":[-32601,"Method not found: mining.multi_version",null]}
}
