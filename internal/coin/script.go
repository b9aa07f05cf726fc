package coin

// Output scripts of the standard bitcoin-family payout address types, built
// from the hash or witness program an address carries.

// P2PKHScript returns OP_DUP OP_HASH160 <hash> OP_EQUALVERIFY OP_CHECKSIG,
// the script paying a public key hash (20 bytes).
func P2PKHScript(hash []byte) []byte {
	return append(append([]byte{0x76, 0xa9, byte(len(hash))}, hash...), 0x88, 0xac)
}

// P2SHScript returns OP_HASH160 <hash> OP_EQUAL, the script paying a script
// hash (20 bytes).
func P2SHScript(hash []byte) []byte {
	return append(append([]byte{0xa9, byte(len(hash))}, hash...), 0x87)
}

// WitnessScript returns OP_version <program>, the script paying a segwit
// program (BIP141, BIP341): version 0 is OP_0 (P2WPKH, P2WSH), 1 to 16
// are OP_1 to OP_16 (P2TR is version 1).
func WitnessScript(version byte, program []byte) []byte {
	op := byte(0x00)
	if version > 0 {
		op = 0x50 + version
	}
	return append([]byte{op, byte(len(program))}, program...)
}
