package coin

import "github.com/jetpool/jetpool/internal/pow"

// MerkleRoot returns the bitcoin merkle root of hashes (txids in block
// order), duplicating the last hash of an odd level. The root of one hash is
// that hash; the root of none is the zero hash.
func MerkleRoot(hashes []Hash) Hash {
	if len(hashes) == 0 {
		return Hash{}
	}
	level := append([]Hash(nil), hashes...)
	for len(level) > 1 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		for i := 0; i < len(level)/2; i++ {
			level[i] = pow.SHA256dPair((*[32]byte)(&level[2*i]), (*[32]byte)(&level[2*i+1]))
		}
		level = level[:len(level)/2]
	}
	return level[0]
}

// MerkleBranch returns the Stratum merkle branch of the coinbase: the
// sibling hashes, from the leaves up, that combine the coinbase txid (leaf
// 0) into the merkle root of [coinbase, txids...]. txids are the
// non-coinbase transactions in block order. The branch has
// ceil(log2(len(txids)+1)) entries.
func MerkleBranch(txids []Hash) []Hash {
	if len(txids) == 0 {
		return nil
	}
	// level[0] stands for the coinbase side, whose value is unknown here.
	level := make([]Hash, 1, len(txids)+2)
	level = append(level, txids...)
	var branch []Hash
	for len(level) > 1 {
		branch = append(branch, level[1])
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		for i := 1; i < len(level)/2; i++ {
			level[i] = pow.SHA256dPair((*[32]byte)(&level[2*i]), (*[32]byte)(&level[2*i+1]))
		}
		level = level[:len(level)/2]
	}
	return branch
}

// MerkleRootFromBranch folds a merkle branch onto leaf 0 (the coinbase txid)
// and returns the merkle root. It does not allocate.
func MerkleRootFromBranch(leaf Hash, branch []Hash) Hash {
	root := [32]byte(leaf)
	for i := range branch {
		root = pow.SHA256dPair(&root, (*[32]byte)(&branch[i]))
	}
	return Hash(root)
}

// WitnessCommitment returns the BIP141 commitment of a block whose
// non-coinbase transactions have the given wtxids: SHA256d(witness merkle
// root ‖ 32 zero bytes), where the coinbase's wtxid counts as zero and the
// reserved value (the coinbase witness) is 32 zero bytes.
func WitnessCommitment(wtxids []Hash) Hash {
	leaves := make([]Hash, 1, len(wtxids)+1)
	leaves = append(leaves, wtxids...)
	root := MerkleRoot(leaves)
	var reserved [32]byte
	return Hash(pow.SHA256dPair((*[32]byte)(&root), &reserved))
}

// witnessMagic starts a witness commitment output script:
// OP_RETURN, push 36, 0xaa21a9ed.
var witnessMagic = [6]byte{opReturn, 0x24, 0xaa, 0x21, 0xa9, 0xed}

// WitnessCommitmentScript returns the output script that carries a witness
// commitment: 0x6a24aa21a9ed ‖ commitment.
func WitnessCommitmentScript(commitment Hash) []byte {
	s := make([]byte, 0, 38)
	s = append(s, witnessMagic[:]...)
	return append(s, commitment[:]...)
}
