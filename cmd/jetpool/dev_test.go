package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/devpool"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/node"
)

// buildBinary compiles this command once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "jetpool")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startDev runs `jetpool dev --data dir` and waits until it reports ready.
func startDev(t *testing.T, bin, dir string, extra ...string) (*exec.Cmd, devpool.Endpoints) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"dev", "--data", dir, "--log-level", "warn"}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &testWriter{t: t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
	})
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "jetpool dev is up") {
				up <- true
			}
		}
		close(up)
	}()
	select {
	case ok := <-up:
		if !ok {
			t.Fatal("jetpool dev exited before it was up")
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("jetpool dev not up after 5 minutes")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "dev.json"))
	if err != nil {
		t.Fatalf("dev.json: %v", err)
	}
	var ep devpool.Endpoints
	if err := json.Unmarshal(raw, &ep); err != nil {
		t.Fatalf("dev.json: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(ep.Ops + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200 (last: %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return cmd, ep
}

func stopDev(t *testing.T, cmd *exec.Cmd, ep devpool.Endpoints) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("jetpool dev exited with %v after SIGINT", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("jetpool dev did not stop within 90s of SIGINT")
	}
	for name, pid := range ep.PIDs {
		if localsvc.ProcessAlive(pid) {
			t.Errorf("%s (pid %d) still running after shutdown", name, pid)
		}
	}
}

func TestDevStartsReportsReadyStopsCleanAndResumes(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	// PostgreSQL runs as the postgres user, which must be able to reach the dir.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd, ep := startDev(t, bin, dir, "--demo")
	for _, want := range []string{"jetpool", "postgres", "clickhouse", "btc-node"} {
		if ep.PIDs[want] == 0 {
			t.Errorf("dev.json lists no pid for %s", want)
		}
	}
	if ep.Stratum["btc"]["tcp"] == "" || ep.Stratum["btc"]["tls"] == "" || ep.NATS == "" || ep.PostgresDSN == "" ||
		ep.ClickHouseDSN == "" || ep.Nodes["btc"].RPCURL == "" || ep.Web == "" {
		t.Errorf("dev.json misses endpoints: %+v", ep)
	}
	addr := ep.PoolAddress["btc"]
	// The web API lists the gateway and the running functions.
	resp, err := http.Get(ep.Web + "/api/services")
	if err != nil {
		t.Fatal(err)
	}
	var svc struct {
		Gateways  []json.RawMessage `json:"gateways"`
		Functions []struct{ Name string }
	}
	err = json.NewDecoder(resp.Body).Decode(&svc)
	resp.Body.Close()
	if err != nil || len(svc.Gateways) != 1 || len(svc.Functions) < 2 {
		t.Errorf("/api/services = %+v (%v); want 1 gateway and the functions", svc, err)
	}
	// --demo mines through the pool: blocks appear on the node.
	n := ep.Nodes["btc"]
	client, err := node.New(node.Config{URL: n.RPCURL, User: n.User, Pass: n.Pass})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start, err := client.GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var height int64
	deadline := time.Now().Add(2 * time.Minute)
	for height < start+3 {
		if time.Now().After(deadline) {
			t.Fatalf("demo found %d blocks in 2 minutes, want 3", height-start)
		}
		time.Sleep(250 * time.Millisecond)
		if height, err = client.GetBlockCount(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stopDev(t, cmd, ep)

	// A second run on the same dir resumes with the same endpoints and data.
	cmd2, ep2 := startDev(t, bin, dir)
	if ep2.NATS != ep.NATS || ep2.PostgresDSN != ep.PostgresDSN || ep2.PoolAddress["btc"] != addr {
		t.Errorf("second run changed endpoints: %+v vs %+v", ep2, ep)
	}
	n2 := ep2.Nodes["btc"]
	client2, err := node.New(node.Config{URL: n2.RPCURL, User: n2.User, Pass: n2.Pass})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := client2.GetBlockCount(ctx); err != nil || h < height {
		t.Errorf("chain after resume at height %d (%v), want >= %d", h, err, height)
	}
	stopDev(t, cmd2, ep2)
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestDevRunsThreeCoinsSideBySide: `jetpool dev --coins btc,ltc,bch --demo`
// runs three real nodes, a gateway each on its own ports, and the demo miner
// (sha256d and scrypt) finds blocks the nodes accept on every chain.
func TestDevRunsThreeCoinsSideBySide(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd, ep := startDev(t, bin, dir, "--demo", "--coins", "btc,ltc,bch")
	ctx := context.Background()
	ports := map[string]bool{}
	for _, sym := range []string{"btc", "ltc", "bch"} {
		for _, scheme := range []string{"tcp", "tls"} {
			u := ep.Stratum[sym][scheme]
			if u == "" || ports[u] {
				t.Fatalf("%s %s stratum URL %q missing or shared", sym, scheme, u)
			}
			ports[u] = true
		}
		n := ep.Nodes[sym]
		client, err := node.New(node.Config{URL: n.RPCURL, User: n.User, Pass: n.Pass})
		if err != nil {
			t.Fatal(err)
		}
		start, err := client.GetBlockCount(ctx)
		if err != nil {
			t.Fatalf("%s node: %v", sym, err)
		}
		deadline := time.Now().Add(3 * time.Minute)
		for {
			h, err := client.GetBlockCount(ctx)
			if err != nil {
				t.Fatalf("%s node: %v", sym, err)
			}
			if h >= start+2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the demo miner found %d blocks in 3 minutes, want 2", sym, h-start)
			}
			time.Sleep(250 * time.Millisecond)
		}
		// The web serves each coin from the registry: its pool figures and
		// the blocks the ledger recorded.
		if code, body := httpGet(t, ep.Web+"/api/coins/"+sym+"/pool"); code != http.StatusOK || !strings.Contains(body, `"coin":"`+sym+`"`) {
			t.Errorf("%s pool = %d %s", sym, code, body)
		}
		deadline = time.Now().Add(30 * time.Second)
		for {
			code, body := httpGet(t, ep.Web+"/api/coins/"+sym+"/blocks")
			if code == http.StatusOK && strings.Contains(body, `"hash"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s blocks = %d %s, want the found blocks", sym, code, body)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if code, _ := httpGet(t, ep.Web+"/api/coins/doge/pool"); code != http.StatusNotFound {
		t.Errorf("unregistered coin answered %d, want 404", code)
	}
	stopDev(t, cmd, ep)
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
