package gateway

import (
	"fmt"
	"testing"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/target"
)

func testJob(id string, height int64, prev byte) *coin.Job {
	j := &coin.Job{ID: id, Coin: "btc", Height: height}
	j.PrevHash[0] = prev
	return j
}

// TestJobStoreStaleAndDuplicates covers what the share check relies on: a
// job on a new block makes older ones stale (still known, so a late share
// is recorded as stale) and a share looked up just before that is told it
// is stale rather than touching the dropped duplicate set.
func TestJobStoreStaleAndDuplicates(t *testing.T) {
	s := newJobStore()
	add := func(j *coin.Job) (*jobEntry, bool) {
		t.Helper()
		e, clean, ok := s.add(j, nil, target.SHA256dDiff1)
		if !ok {
			t.Fatalf("job %s refused", j.ID)
		}
		return e, clean
	}
	a, clean := add(testJob("a", 10, 1))
	if !clean {
		t.Fatal("first job not clean")
	}
	k := makeShareKey([]byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}, 1, 2, 3)
	if fresh, stale := a.firstSeen(k); !fresh || stale {
		t.Fatalf("first share: fresh %v stale %v", fresh, stale)
	}
	if fresh, stale := a.firstSeen(k); fresh || stale {
		t.Fatalf("repeated share: fresh %v stale %v, want a duplicate", fresh, stale)
	}
	if fresh, _ := a.firstSeen(makeShareKey([]byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}, 1, 2, 4)); !fresh {
		t.Fatal("same share with another version counted as a duplicate")
	}
	// Same block, new transactions: a stays valid.
	if _, clean := add(testJob("a2", 10, 1)); clean || a.isStale() {
		t.Fatalf("same-block job: clean %v, a stale %v", clean, a.isStale())
	}
	// A new block: a is stale, still known, and a share looked up before
	// (the race with the job broadcast) is stale too, without a panic.
	b, clean := add(testJob("b", 11, 2))
	if !clean || !a.isStale() || b.isStale() {
		t.Fatalf("new block: clean %v, a stale %v, b stale %v", clean, a.isStale(), b.isStale())
	}
	if s.get("a") != a || s.currentJob() != b {
		t.Fatal("stale job forgotten or current job wrong")
	}
	if fresh, stale := a.firstSeen(makeShareKey(nil, nil, 9, 9, 9)); fresh || !stale {
		t.Fatalf("share on a stale job: fresh %v stale %v", fresh, stale)
	}
	// Older heights and repeated ids are ignored.
	if _, _, ok := s.add(testJob("old", 9, 3), nil, target.SHA256dDiff1); ok {
		t.Fatal("job for an older height taken")
	}
	if _, _, ok := s.add(testJob("b", 11, 2), nil, target.SHA256dDiff1); ok {
		t.Fatal("repeated job id taken")
	}
	// Only the last maxJobs jobs are kept.
	for i := range maxJobs {
		add(testJob(fmt.Sprintf("c%d", i), 11, 2))
	}
	if s.get("a") != nil || s.get("b") != nil || s.get("c0") == nil {
		t.Fatal("old jobs not pushed out after maxJobs newer ones")
	}
	if !b.isStale() {
		t.Fatal("job pushed out but not marked stale")
	}
}
