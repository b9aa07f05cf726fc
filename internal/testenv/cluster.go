package testenv

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/natsrv"
)

// clusterReadyTimeout bounds the wait for a JetStream meta leader.
const clusterReadyTimeout = 60 * time.Second

// Cluster is an embedded NATS route cluster on loopback, every member with
// JetStream on disk in its own temp dir. Members keep their name, ports and
// store across Kill and Restart, like a real node that crashes and comes back.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	members []*member
}

type member struct {
	opts natsrv.Options
	srv  *natsrv.Server // nil while killed
}

// NATSCluster starts an n-member cluster and waits until JetStream has a
// meta leader and every member is current. It is shut down when the test ends.
func NATSCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("testenv: NATSCluster size %d", n)
	}
	clientPorts, routePorts := make([]int, n), make([]int, n)
	for i := range n {
		var err error
		if clientPorts[i], err = natsrv.FreePort(); err == nil {
			routePorts[i], err = natsrv.FreePort()
		}
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	c := &Cluster{t: t}
	for i := range n {
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, "nats-route://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(routePorts[j])))
			}
		}
		c.members = append(c.members, &member{opts: natsrv.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Port:       clientPorts[i],
			StoreDir:   t.TempDir(),
			Cluster:    &natsrv.Cluster{Name: "testenv", Port: routePorts[i], Routes: routes},
			Logger:     natsLogger(),
		}})
	}
	t.Cleanup(c.shutdown)
	// Members start concurrently: a member waits for its routes only in
	// the background, but JetStream needs a quorum to elect a meta leader.
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = c.start(i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("testenv: NATS cluster member %d did not start: %v", i+1, err)
		}
	}
	c.WaitReady()
	return c
}

func (c *Cluster) start(i int) error {
	ctx, cancel := startCtx()
	defer cancel()
	c.mu.Lock()
	opts := c.members[i].opts
	c.mu.Unlock()
	s, err := natsrv.Start(ctx, opts)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.members[i].srv = s
	c.mu.Unlock()
	return nil
}

func (c *Cluster) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.members {
		if m.srv != nil {
			m.srv.Shutdown()
			m.srv = nil
		}
	}
}

// Size is the number of members, running or killed.
func (c *Cluster) Size() int { return len(c.members) }

// Server is member i (0-based), or nil while it is killed.
func (c *Cluster) Server(i int) *natsrv.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[i].srv
}

// Name is the server name of member i ("n1", "n2", …).
func (c *Cluster) Name(i int) string { return c.members[i].opts.ServerName }

// Index is the member with this server name, or -1.
func (c *Cluster) Index(serverName string) int {
	for i, m := range c.members {
		if m.opts.ServerName == serverName {
			return i
		}
	}
	return -1
}

// ClientURLs lists every member's client URL, comma-separated, for
// nats.Connect (the list stays valid across Kill and Restart).
func (c *Cluster) ClientURLs() string {
	urls := make([]string, len(c.members))
	for i, m := range c.members {
		urls[i] = "nats://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(m.opts.Port))
	}
	return strings.Join(urls, ",")
}

// Connect dials the cluster with reconnects to any member enabled; the
// connection is closed when the test ends.
func (c *Cluster) Connect(opts ...nats.Option) *nats.Conn {
	c.t.Helper()
	base := []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond), nats.Timeout(2 * time.Second)}
	nc, err := nats.Connect(c.ClientURLs(), append(base, opts...)...)
	if err != nil {
		c.t.Fatalf("testenv: connect to NATS cluster: %v", err)
	}
	c.t.Cleanup(nc.Close)
	return nc
}

// Kill shuts member i down (its store stays on disk for Restart).
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	s := c.members[i].srv
	c.members[i].srv = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
	}
}

// Restart starts a killed member again with its name, ports and store.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.Server(i) != nil {
		c.t.Fatalf("testenv: NATS member %d is running", i+1)
	}
	if err := c.start(i); err != nil {
		c.t.Fatalf("testenv: NATS member %d did not restart: %v", i+1, err)
	}
}

// CreateStream creates a stream, retrying while the cluster settles (the
// first replicated stream can take seconds), and waits until it has a
// leader. It fails the test when that does not happen within a minute.
func (c *Cluster) CreateStream(js jetstream.JetStream, cfg jetstream.StreamConfig) jetstream.Stream {
	c.t.Helper()
	deadline := time.Now().Add(clusterReadyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := js.CreateStream(ctx, cfg)
		cancel()
		if err == nil {
			for c.StreamLeader(cfg.Name) < 0 {
				if time.Now().After(deadline) {
					c.t.Fatalf("testenv: stream %s has no leader", cfg.Name)
				}
				time.Sleep(20 * time.Millisecond)
			}
			return s
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("testenv: create stream %s: %v", cfg.Name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// StreamLeader is the member leading stream (global account), or -1.
func (c *Cluster) StreamLeader(stream string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if m.srv != nil && m.srv.Raw().JetStreamIsStreamLeader(globalAccount, stream) {
			return i
		}
	}
	return -1
}

const globalAccount = "$G"

// WaitReady waits until a running member is JetStream meta leader, it sees
// every running member as a peer, and every running member is current.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	deadline := time.Now().Add(clusterReadyTimeout)
	for {
		ok, why := c.ready()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("testenv: NATS cluster not ready after %s: %s", clusterReadyTimeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) ready() (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	running, leader := 0, -1
	for i, m := range c.members {
		if m.srv == nil {
			continue
		}
		running++
		if m.srv.Raw().JetStreamIsLeader() {
			leader = i
		}
	}
	if leader < 0 {
		return false, "no meta leader"
	}
	if peers := len(c.members[leader].srv.Raw().JetStreamClusterPeers()); peers < running {
		return false, fmt.Sprintf("meta leader sees %d of %d running members", peers, running)
	}
	for i, m := range c.members {
		if m.srv != nil && !m.srv.Raw().JetStreamIsCurrent() {
			return false, fmt.Sprintf("member %d not current", i+1)
		}
	}
	return true, ""
}

// WaitStreamCurrent waits until every running member holds an up-to-date
// replica of stream: its raft node is current and its last sequence and
// message count equal the leader's (a restarted member has caught up). It
// suits streams replicated on every member.
func (c *Cluster) WaitStreamCurrent(ctx context.Context, stream string) error {
	for {
		behind := c.streamBehind(stream)
		if behind == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testenv: stream %s: %s: %w", stream, behind, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// streamBehind describes the first member whose replica lags, or "".
func (c *Cluster) streamBehind(stream string) string {
	leader := c.StreamLeader(stream)
	if leader < 0 {
		return "no leader"
	}
	want, ok := c.StreamState(leader, stream)
	if !ok {
		return "leader has no state"
	}
	for i := range c.members {
		s := c.Server(i)
		if s == nil {
			continue
		}
		if !s.Raw().JetStreamIsStreamCurrent(globalAccount, stream) {
			return c.Name(i) + " not current"
		}
		got, ok := c.StreamState(i, stream)
		if !ok || got.LastSeq != want.LastSeq || got.Msgs != want.Msgs {
			return fmt.Sprintf("%s at seq %d/%d msgs, leader at %d/%d", c.Name(i), got.LastSeq, got.Msgs, want.LastSeq, want.Msgs)
		}
	}
	return ""
}

// StreamState is member i's local view of stream (its replica's state);
// ok is false when the member is down or holds no replica.
func (c *Cluster) StreamState(i int, stream string) (state server.StreamState, ok bool) {
	s := c.Server(i)
	if s == nil {
		return server.StreamState{}, false
	}
	jsz, err := s.Raw().Jsz(&server.JSzOptions{Accounts: true, Streams: true})
	if err != nil {
		return server.StreamState{}, false
	}
	for _, acc := range jsz.AccountDetails {
		for _, st := range acc.Streams {
			if st.Name == stream {
				return st.State, true
			}
		}
	}
	return server.StreamState{}, false
}
