package deploy_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/config"
)

// functionNames are every function the jetpool binary runs with `jetpool fn`.
// The compose file must run each of them somewhere.
var functionNames = []string{
	"jobmaker", "blocksubmit", "ingest", "stats", "accounts", "ledger", "rewards",
	"chainwatch", "payouts", "pps", "notify", "telegram", "users",
}

// testPoolAddress stands in for the operator's $BTC_POOL_ADDRESS: a
// well-formed mainnet P2WPKH (BIP 173 checksum; its program is a hash of a
// phrase, so nobody holds its key), distinct from the placeholder in
// pool.yaml so the test can tell the override was applied.
const testPoolAddress = "bc1q65jn3rr2ne53akf9t65zc8jncsz0qdr4j04axa"

// fnValueFlags are the `jetpool fn` flags that take a value.
var fnValueFlags = map[string]bool{
	"--nats": true, "--replicas": true, "--ops": true, "--log-level": true,
	"--postgres": true, "--clickhouse": true,
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from deploy/: %v", err)
	}
	return root
}

// loadCompose loads docker-compose.yml the way `docker compose config` does:
// compose-go with interpolation, schema validation and consistency checks on.
// Only env is visible to interpolation (no OS environment, no .env file).
func loadCompose(t *testing.T, env []string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(env),
		cli.WithName("jetpool"),
	)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return opts.LoadProject(ctx)
}

func mustLoadCompose(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadCompose(t, []string{"BTC_POOL_ADDRESS=" + testPoolAddress})
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

func sortedNames(p *types.Project) []string {
	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func isNATS(s types.ServiceConfig) bool { return strings.HasPrefix(s.Image, "nats:") }

func isJetpool(s types.ServiceConfig) bool { return strings.HasPrefix(s.Image, "jetpool:") }

func natsServices(p *types.Project) []string {
	var out []string
	for _, n := range sortedNames(p) {
		if isNATS(p.Services[n]) {
			out = append(out, n)
		}
	}
	return out
}

// flagValue returns the value of --name in args ("--name v" or "--name=v").
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func env(s types.ServiceConfig, key string) (string, bool) {
	v, ok := s.Environment[key]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

// fnNames splits the arguments after `fn` into flags and function names and
// fails if a flag follows a name (Go's flag package would treat it as a name).
func fnNames(t *testing.T, svc string, args []string) []string {
	t.Helper()
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if fnValueFlags[args[i]] {
			i += 2
		} else {
			i++
		}
	}
	names := args[min(i, len(args)):]
	for _, n := range names {
		if strings.HasPrefix(n, "-") {
			t.Errorf("%s: flag %q after the function names is never parsed: %q", svc, n, args)
		}
	}
	return names
}

func TestComposeLoadsWithSchemaValidation(t *testing.T) {
	p := mustLoadCompose(t)
	if len(p.Services) == 0 {
		t.Fatal("no services")
	}
	if len(p.DisabledServices) != 0 {
		t.Errorf("services hidden behind profiles: %v", p.DisabledServices)
	}
}

func TestComposeRefusesToStartWithoutPoolAddress(t *testing.T) {
	_, err := loadCompose(t, nil)
	if err == nil || !strings.Contains(err.Error(), "BTC_POOL_ADDRESS") {
		t.Fatalf("load without BTC_POOL_ADDRESS = %v; want an error naming it", err)
	}
}

func TestComposeNATSCluster(t *testing.T) {
	p := mustLoadCompose(t)
	root := repoRoot(t)
	nodes := natsServices(p)
	if len(nodes) != 3 {
		t.Fatalf("NATS services %v; want exactly 3", nodes)
	}
	dataVolumes := map[string]string{}
	for _, n := range nodes {
		s := p.Services[n]
		if name, _ := env(s, "NATS_SERVER_NAME"); name != n {
			t.Errorf("%s: NATS_SERVER_NAME = %q; want the service name (routes use it)", n, name)
		}
		if host, _ := env(s, "NATS_HOST"); host != "0.0.0.0" {
			t.Errorf("%s: NATS_HOST = %q; want 0.0.0.0 inside the container", n, host)
		}
		storeDir, ok := env(s, "NATS_STORE_DIR")
		if !ok || storeDir == "" {
			t.Errorf("%s: NATS_STORE_DIR unset", n)
		}
		var confTarget string
		storeOnVolume := false
		for _, v := range s.Volumes {
			switch {
			case v.Type == types.VolumeTypeBind && v.Source == filepath.Join(root, "nats.conf"):
				confTarget = v.Target
			case v.Type == types.VolumeTypeVolume && (storeDir == v.Target || strings.HasPrefix(storeDir, v.Target+"/")):
				storeOnVolume = true
				if other, dup := dataVolumes[v.Source]; dup {
					t.Errorf("%s and %s share the JetStream volume %s", n, other, v.Source)
				}
				dataVolumes[v.Source] = n
			}
		}
		if confTarget == "" {
			t.Errorf("%s: ./nats.conf not mounted", n)
		} else if !slices.Contains(s.Command, confTarget) {
			t.Errorf("%s: command %q does not load %s", n, s.Command, confTarget)
		}
		if !storeOnVolume {
			t.Errorf("%s: JetStream store %q is not on a named volume", n, storeDir)
		}
		if s.HealthCheck == nil || s.HealthCheck.Disable || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), ":8222/healthz") {
			t.Errorf("%s: healthcheck must probe the monitoring /healthz, got %+v", n, s.HealthCheck)
		}
		for _, port := range s.Ports {
			if port.Target == 4222 || port.Target == 6222 {
				t.Errorf("%s publishes %d: NATS has no auth in nats.conf and must stay on the private network", n, port.Target)
			}
		}
	}
}

func TestComposeRunsEveryFunction(t *testing.T) {
	p := mustLoadCompose(t)
	runBy := map[string][]string{}
	for _, n := range sortedNames(p) {
		s := p.Services[n]
		if !isJetpool(s) || len(s.Command) == 0 || s.Command[0] != "fn" {
			continue
		}
		names := fnNames(t, n, s.Command[1:])
		if len(names) == 0 {
			t.Errorf("%s: `fn` with no function", n)
		}
		for _, f := range names {
			if !slices.Contains(functionNames, f) {
				t.Errorf("%s: unknown function %q", n, f)
			}
			runBy[f] = append(runBy[f], n)
		}
		replicas := 1
		if s.Deploy != nil && s.Deploy.Replicas != nil {
			replicas = *s.Deploy.Replicas
		}
		if replicas < 2 {
			t.Errorf("%s: deploy.replicas = %d; functions run as several copies on one durable consumer", n, replicas)
		}
		if slices.Contains(names, "ingest") && replicas < 3 {
			t.Errorf("%s runs ingest with %d replicas; want >= 3", n, replicas)
		}
		if len(s.Ports) != 0 {
			t.Errorf("%s: a replicated function publishes ports %v (copies would collide)", n, s.Ports)
		}
	}
	for _, f := range functionNames {
		switch len(runBy[f]) {
		case 0:
			t.Errorf("function %s is run by no service", f)
		case 1:
		default:
			t.Errorf("function %s is run by several services %v; scale one service instead", f, runBy[f])
		}
	}
}

func TestComposeRolesJoinTheWholeCluster(t *testing.T) {
	p := mustLoadCompose(t)
	nodes := natsServices(p)
	want := make([]string, 0, len(nodes))
	for _, n := range nodes {
		want = append(want, n+":4222")
	}
	for _, n := range sortedNames(p) {
		s := p.Services[n]
		dependsOnNATS := false
		for dep := range s.DependsOn {
			if slices.Contains(nodes, dep) {
				dependsOnNATS = true
			}
		}
		if isJetpool(s) && len(s.Command) > 0 && s.Command[0] != "check-config" && !dependsOnNATS {
			t.Errorf("%s (%s) runs against NATS but does not depend on it", n, s.Command[0])
		}
		if !dependsOnNATS {
			continue
		}
		for _, node := range nodes {
			if c := s.DependsOn[node].Condition; c != types.ServiceConditionHealthy {
				t.Errorf("%s: depends on %s with %q; want %s", n, node, c, types.ServiceConditionHealthy)
			}
		}
		raw, ok := flagValue(s.Command, "--nats")
		if !ok {
			raw, ok = env(s, "JETPOOL_NATS_URL")
		}
		if !ok || raw == "" {
			t.Errorf("%s depends on NATS but has neither --nats nor JETPOOL_NATS_URL", n)
			continue
		}
		var got []string
		for _, u := range strings.Split(raw, ",") {
			pu, err := url.Parse(strings.TrimSpace(u))
			if err != nil || pu.Scheme != "nats" {
				t.Errorf("%s: NATS URL %q is not nats://host:port (%v)", n, u, err)
				continue
			}
			got = append(got, pu.Host)
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: NATS URL %q lists %v; want every node %v", n, raw, got, want)
		}
		if r, ok := flagValue(s.Command, "--replicas"); !ok || r != strconv.Itoa(len(nodes)) {
			t.Errorf("%s: --replicas %q; want %d (R%d streams on a %d-node cluster)", n, r, len(nodes), len(nodes), len(nodes))
		}
	}
}

func TestComposeStoreAddressesAreServices(t *testing.T) {
	p := mustLoadCompose(t)
	tests := []struct {
		name, key, scheme, image, port string
	}{
		{"postgres", "JETPOOL_POSTGRES_DSN", "postgres", "postgres:15", "5432"},
		{"clickhouse native protocol", "JETPOOL_CLICKHOUSE_DSN", "clickhouse", "clickhouse/clickhouse-server:", "9000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := 0
			for _, n := range sortedNames(p) {
				s := p.Services[n]
				raw, ok := env(s, tt.key)
				if !isJetpool(s) {
					continue
				}
				if !ok {
					t.Errorf("%s: %s unset", n, tt.key)
					continue
				}
				seen++
				u, err := url.Parse(raw)
				if err != nil {
					t.Fatalf("%s: %s: %v", n, tt.key, err)
				}
				target, ok := p.Services[u.Hostname()]
				switch {
				case u.Scheme != tt.scheme:
					t.Errorf("%s: %s scheme %q; want %q", n, tt.key, u.Scheme, tt.scheme)
				case !ok:
					t.Errorf("%s: %s host %q is not a compose service", n, tt.key, u.Hostname())
				case !strings.HasPrefix(target.Image, tt.image):
					t.Errorf("%s: %s points at %s (image %s); want image %s*", n, tt.key, u.Hostname(), target.Image, tt.image)
				case u.Port() != tt.port:
					t.Errorf("%s: %s port %q; want %s", n, tt.key, u.Port(), tt.port)
				}
			}
			if seen == 0 {
				t.Fatal("no jetpool service")
			}
		})
	}
}

func TestComposePublishedPortsDoNotCollide(t *testing.T) {
	p := mustLoadCompose(t)
	owner := map[string]string{}
	gateways := 0
	regions := map[string]bool{}
	for _, n := range sortedNames(p) {
		s := p.Services[n]
		isGateway := isJetpool(s) && len(s.Command) > 0 && s.Command[0] == "gateway"
		if isGateway {
			gateways++
			r, _ := flagValue(s.Command, "--region")
			c, _ := flagValue(s.Command, "--coin")
			if regions[c+"/"+r] {
				t.Errorf("%s: a second gateway service for %s in region %s", n, c, r)
			}
			regions[c+"/"+r] = true
			if len(s.Ports) == 0 {
				t.Errorf("gateway %s publishes no port", n)
			}
			if s.Deploy != nil && s.Deploy.Replicas != nil && *s.Deploy.Replicas > 1 {
				t.Errorf("gateway %s has %d replicas on fixed host ports", n, *s.Deploy.Replicas)
			}
		}
		for _, port := range s.Ports {
			if port.Published == "" {
				t.Errorf("%s: port %d published on a random host port", n, port.Target)
				continue
			}
			proto := port.Protocol
			if proto == "" {
				proto = "tcp"
			}
			key := fmt.Sprintf("%s:%s/%s", port.HostIP, port.Published, proto)
			if other, dup := owner[key]; dup {
				t.Errorf("host port %s published by both %s and %s", key, other, n)
			}
			owner[key] = n
		}
	}
	if gateways < 2 || len(regions) < 2 {
		t.Errorf("%d gateway services over regions %v; want one per region, at least eu and us", gateways, regions)
	}
}

func TestComposeHealthchecksAndStartOrder(t *testing.T) {
	p := mustLoadCompose(t)
	for _, n := range sortedNames(p) {
		s := p.Services[n]
		if isJetpool(s) && len(s.Command) > 0 && s.Command[0] != "check-config" {
			ops, ok := flagValue(s.Command, "--ops")
			_, port, err := net.SplitHostPort(ops)
			if !ok || err != nil {
				t.Errorf("%s: --ops %q; want host:port reachable by the healthcheck", n, ops)
			}
			hc := ""
			if s.HealthCheck != nil && !s.HealthCheck.Disable {
				hc = strings.Join(s.HealthCheck.Test, " ")
			}
			if !strings.Contains(hc, "127.0.0.1:"+port+"/readyz") {
				t.Errorf("%s: healthcheck %q does not probe /readyz on the --ops port %s", n, hc, port)
			}
			if dep, ok := s.DependsOn["config-check"]; !ok || dep.Condition != types.ServiceConditionCompletedSuccessfully {
				t.Errorf("%s: must wait for config-check to complete successfully, got %+v", n, dep)
			}
		}
		for dep, d := range s.DependsOn {
			target := p.Services[dep]
			hasCheck := target.HealthCheck != nil && !target.HealthCheck.Disable
			if hasCheck && d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s: depends on %s (which has a healthcheck) with %q; want %s", n, dep, d.Condition, types.ServiceConditionHealthy)
			}
			if !hasCheck && d.Condition == types.ServiceConditionHealthy {
				t.Errorf("%s: waits for %s to be healthy but it has no healthcheck", n, dep)
			}
		}
	}
	cc, ok := p.Services["config-check"]
	if !ok {
		t.Fatal("no config-check service")
	}
	if !slices.Equal(cc.Command, []string{"check-config", "/etc/jetpool/pool.yaml"}) || cc.Restart != "no" {
		t.Errorf("config-check: command %q restart %q; want a one-shot check-config of the mounted pool.yaml", cc.Command, cc.Restart)
	}
}

func TestComposeFilesItMountsAndBuildsExist(t *testing.T) {
	p := mustLoadCompose(t)
	root := repoRoot(t)
	for _, n := range sortedNames(p) {
		s := p.Services[n]
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: bind mount source: %v", n, err)
			}
			if !v.ReadOnly {
				t.Errorf("%s: bind mount %s is writable; config mounts are read-only", n, v.Source)
			}
		}
		if isJetpool(s) {
			if s.Build == nil || s.Build.Context != root || s.Build.Dockerfile != "Dockerfile" {
				t.Errorf("%s: build %+v; want the repository's Dockerfile", n, s.Build)
			}
		}
	}
}

func TestPoolYAMLLoadsAndValidates(t *testing.T) {
	cfg, err := config.Load("pool.yaml", nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("validate:\n%v", err)
	}
	btc, ok := cfg.Coins["btc"]
	if !ok || !btc.Enabled || btc.Network != "mainnet" {
		t.Fatalf("coins.btc = %+v; want an enabled mainnet coin", btc)
	}
	a, err := address.DecodeAddress(btc.PoolAddress, &chaincfg.MainNetParams)
	if err != nil || !a.IsForNet(&chaincfg.MainNetParams) {
		t.Errorf("pool_address %q is not a mainnet address: %v", btc.PoolAddress, err)
	}
	if len(btc.Regions) < 2 {
		t.Errorf("regions %v; want at least two", btc.Regions)
	}
}

func TestPoolYAMLMatchesCompose(t *testing.T) {
	p := mustLoadCompose(t)
	cc := p.Services["config-check"]
	var environ []string
	for k, v := range cc.Environment {
		if v != nil {
			environ = append(environ, k+"="+*v)
		}
	}
	cfg, err := config.Load("pool.yaml", environ)
	if err != nil {
		t.Fatalf("load with the compose environment: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("validate with the compose environment:\n%v", err)
	}
	if got := cfg.Coins["btc"].PoolAddress; got != testPoolAddress {
		t.Errorf("pool_address = %q; want $BTC_POOL_ADDRESS %q applied by the compose env", got, testPoolAddress)
	}
	for _, n := range sortedNames(p) {
		s := p.Services[n]
		if isJetpool(s) && !mountsPoolYAML(s, repoRoot(t)) {
			t.Errorf("%s does not mount deploy/pool.yaml at /etc/jetpool/pool.yaml", n)
		}
	}

	t.Run("node endpoints are compose services", func(t *testing.T) {
		for sym, c := range cfg.Coins {
			u, err := url.Parse(c.Node.RPCURL)
			if err != nil {
				t.Fatalf("coins.%s.node.rpc_url: %v", sym, err)
			}
			if _, ok := p.Services[u.Hostname()]; !ok {
				t.Errorf("coins.%s.node.rpc_url host %q is not a compose service", sym, u.Hostname())
			}
			if sym == "btc" {
				conf, err := os.ReadFile(filepath.Join("bitcoind", "bitcoin.conf"))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(strings.Split(string(conf), "\n"), "rpcport="+u.Port()) {
					t.Errorf("bitcoin.conf does not set rpcport=%s of %s", u.Port(), c.Node.RPCURL)
				}
			}
		}
	})

	t.Run("every region has a gateway on its listener ports", func(t *testing.T) {
		served := map[string]bool{}
		for _, n := range sortedNames(p) {
			s := p.Services[n]
			if !isJetpool(s) || len(s.Command) == 0 || s.Command[0] != "gateway" {
				continue
			}
			sym, _ := flagValue(s.Command, "--coin")
			region, _ := flagValue(s.Command, "--region")
			served[sym+"/"+region] = true
			l, ok := cfg.Coins[sym].Regions[region]
			if !ok {
				t.Errorf("%s serves %s/%s, which pool.yaml does not configure", n, sym, region)
				continue
			}
			for _, addr := range []string{l.TCP, l.TLS} {
				if addr == "" {
					continue
				}
				_, port, err := net.SplitHostPort(addr)
				if err != nil {
					t.Errorf("%s: listener %q: %v", n, addr, err)
					continue
				}
				if !slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool { return strconv.Itoa(int(pc.Target)) == port }) {
					t.Errorf("%s: listener %s of %s/%s is not published", n, addr, sym, region)
				}
			}
		}
		for sym, c := range cfg.Coins {
			for region := range c.Regions {
				if c.Enabled && !served[sym+"/"+region] {
					t.Errorf("pool.yaml region %s/%s has no gateway service", sym, region)
				}
			}
		}
	})
}

func mountsPoolYAML(s types.ServiceConfig, root string) bool {
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && v.Source == filepath.Join(root, "deploy", "pool.yaml") && v.Target == "/etc/jetpool/pool.yaml" {
			return true
		}
	}
	return false
}

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines, drop comments.
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	var froms, users, exposed []string
	lastFrom := 0
	for i, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			froms = append(froms, rest)
			lastFrom = i
		case "USER":
			if i > lastFrom {
				users = append(users, rest)
			}
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(rest)...)
		}
	}
	text := strings.Join(lines, "\n")
	if len(froms) < 2 || !strings.HasPrefix(froms[0], "golang:1.26") {
		t.Errorf("stages %q; want a golang:1.26 build stage and a runtime stage", froms)
	}
	for _, want := range []string{"CGO_ENABLED=0", "go build", "./cmd/jetpool", "COPY --from="} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// USER in the last stage, after its FROM, and not root.
	lastUsers := []string{}
	for _, l := range lines[lastFrom:] {
		if u, ok := strings.CutPrefix(l, "USER "); ok {
			lastUsers = append(lastUsers, u)
		}
	}
	if len(lastUsers) == 0 {
		t.Error("runtime stage has no USER: it would run as root")
	}
	for _, u := range lastUsers {
		name, _, _ := strings.Cut(u, ":")
		if name == "root" || name == "0" {
			t.Errorf("runtime USER %q is root", u)
		}
	}
	// Every container port the compose file uses on the jetpool image.
	p := mustLoadCompose(t)
	want := map[string]bool{}
	for _, s := range p.Services {
		if !isJetpool(s) {
			continue
		}
		for _, pc := range s.Ports {
			want[strconv.Itoa(int(pc.Target))] = true
		}
		if ops, ok := flagValue(s.Command, "--ops"); ok {
			if _, port, err := net.SplitHostPort(ops); err == nil {
				want[port] = true
			}
		}
	}
	for port := range want {
		if !slices.Contains(exposed, port) && !slices.Contains(exposed, port+"/tcp") {
			t.Errorf("EXPOSE %v misses port %s used by docker-compose.yml", exposed, port)
		}
	}
}

func TestClickHouseConfigIsWellFormed(t *testing.T) {
	f, err := os.Open(filepath.Join("clickhouse", "jetpool.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	var rootElem string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("jetpool.xml: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && rootElem == "" {
			rootElem = se.Name.Local
		}
	}
	if rootElem != "clickhouse" {
		t.Errorf("root element %q; ClickHouse reads config.d files rooted at <clickhouse>", rootElem)
	}
}

// ---- nats.conf ----

func natsConfPath(t *testing.T) string { return filepath.Join(repoRoot(t), "nats.conf") }

// loadNATSConf parses nats.conf with nats-server's own parser for one node.
func loadNATSConf(t *testing.T, name, storeDir string) (*server.Options, error) {
	t.Helper()
	t.Setenv("NATS_SERVER_NAME", name)
	t.Setenv("NATS_HOST", "127.0.0.1")
	t.Setenv("NATS_STORE_DIR", storeDir)
	return server.ProcessConfigFile(natsConfPath(t))
}

func TestNATSConfLoads(t *testing.T) {
	for _, name := range []string{"nats-1", "nats-2", "nats-3"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			o, err := loadNATSConf(t, name, dir)
			if err != nil {
				t.Fatalf("ProcessConfigFile: %v", err)
			}
			if o.ServerName != name || o.Host != "127.0.0.1" || o.Port != 4222 || o.HTTPPort != 8222 {
				t.Errorf("server_name %q host %q port %d http_port %d", o.ServerName, o.Host, o.Port, o.HTTPPort)
			}
			if !o.JetStream || o.StoreDir != dir {
				t.Errorf("jetstream %v store_dir %q; want enabled in %q", o.JetStream, o.StoreDir, dir)
			}
			if o.JetStreamMaxStore < 1<<30 {
				t.Errorf("max_file_store %d; want an explicit limit of at least 1 GiB", o.JetStreamMaxStore)
			}
			if o.MaxPayload != 1<<20 {
				t.Errorf("max_payload %d; want 1 MiB", o.MaxPayload)
			}
			if o.LameDuckDuration <= 0 {
				t.Error("lame_duck_duration unset: rolling restarts would drop every client at once")
			}
			if o.Cluster.Name != "jetpool" || o.Cluster.Host != "127.0.0.1" || o.Cluster.Port != 6222 {
				t.Errorf("cluster %q on %s:%d; want jetpool on 127.0.0.1:6222", o.Cluster.Name, o.Cluster.Host, o.Cluster.Port)
			}
			var routes []string
			for _, r := range o.Routes {
				routes = append(routes, r.Host)
			}
			sort.Strings(routes)
			if want := []string{"nats-1:6222", "nats-2:6222", "nats-3:6222"}; !slices.Equal(routes, want) {
				t.Errorf("routes %v; want %v", routes, want)
			}
			if o.LeafNode.Port != 7422 || o.LeafNode.Host != "127.0.0.1" {
				t.Errorf("leafnodes on %s:%d; want 127.0.0.1:7422 for regional leaf nodes", o.LeafNode.Host, o.LeafNode.Port)
			}
		})
	}
}

func TestNATSConfNeedsEveryVariable(t *testing.T) {
	for _, v := range []string{"NATS_SERVER_NAME", "NATS_HOST", "NATS_STORE_DIR"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv("NATS_SERVER_NAME", "nats-1")
			t.Setenv("NATS_HOST", "127.0.0.1")
			t.Setenv("NATS_STORE_DIR", t.TempDir())
			os.Unsetenv(v) // restored by t.Setenv's cleanup
			_, err := server.ProcessConfigFile(natsConfPath(t))
			if err == nil || !strings.Contains(err.Error(), v) {
				t.Fatalf("ProcessConfigFile without %s = %v; want an error naming it", v, err)
			}
		})
	}
}

// freePorts reserves n distinct loopback ports by holding them all open at
// once, then releases them for the servers to take.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	ls := make([]net.Listener, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = l
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// TestNATSConfThreeNodeCluster starts three real nats-servers from nats.conf
// on loopback (ports moved apart after loading, routes rewritten to them) and
// checks that the cluster forms and holds an R3 stream.
func TestNATSConfThreeNodeCluster(t *testing.T) {
	const n = 3
	ports := freePorts(t, 4*n) // client, cluster, http, leafnode per node
	var routeURLs []string
	for i := range n {
		routeURLs = append(routeURLs, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
	}
	routes := server.RoutesFromStr(strings.Join(routeURLs, ","))

	servers := make([]*server.Server, n)
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("nats-%d", i+1)
		o, err := loadNATSConf(t, names[i], t.TempDir())
		if err != nil {
			t.Fatalf("%s: ProcessConfigFile: %v", names[i], err)
		}
		if len(o.Routes) != n {
			t.Fatalf("%s: %d routes in nats.conf; want %d", names[i], len(o.Routes), n)
		}
		o.Port, o.Cluster.Port, o.HTTPPort, o.LeafNode.Port = ports[i], ports[n+i], ports[2*n+i], ports[3*n+i]
		o.Routes = routes // including itself, as in nats.conf
		o.NoSigs, o.NoLog = true, true
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatalf("%s: NewServer: %v", names[i], err)
		}
		servers[i] = s
		t.Cleanup(func() {
			s.Shutdown()
			s.WaitForShutdown()
		})
		go s.Start()
	}
	for i, s := range servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("%s not ready for connections", names[i])
		}
		if s.ClusterName() != "jetpool" {
			t.Errorf("%s: cluster name %q", names[i], s.ClusterName())
		}
	}

	// Each node sees the two others (its route to itself is dropped).
	// Route pooling opens several connections per peer: count peers.
	deadline := time.Now().Add(15 * time.Second)
	for i, s := range servers {
		var peers []string
		for {
			rz, err := s.Routez(nil)
			if err != nil {
				t.Fatalf("%s: routez: %v", names[i], err)
			}
			set := map[string]bool{}
			for _, r := range rz.Routes {
				set[r.RemoteName] = true
			}
			peers = peers[:0]
			for p := range set {
				peers = append(peers, p)
			}
			sort.Strings(peers)
			if len(peers) == n-1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		want := slices.DeleteFunc(slices.Clone(names), func(x string) bool { return x == names[i] })
		if !slices.Equal(peers, want) {
			t.Fatalf("%s routes to %v; want %v", names[i], peers, want)
		}
	}

	nc, err := nats.Connect(servers[0].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := jetstream.StreamConfig{Name: "DEPLOYCHECK", Subjects: []string{"deploycheck.>"}, Replicas: n, Storage: jetstream.FileStorage}
	var stream jetstream.Stream
	for {
		// The first R3 stream waits for the meta leader: retry.
		attempt, cancelAttempt := context.WithTimeout(ctx, 3*time.Second)
		stream, err = js.CreateStream(attempt, cfg)
		cancelAttempt()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("R%d stream never created: %v", n, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
	if _, err := js.Publish(ctx, "deploycheck.x", []byte("share batch")); err != nil {
		t.Fatalf("publish to R%d stream: %v", n, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != n || info.Cluster == nil || info.Cluster.Name != "jetpool" {
		t.Fatalf("stream replicas %d cluster %+v", info.Config.Replicas, info.Cluster)
	}
	placed := []string{info.Cluster.Leader}
	for _, r := range info.Cluster.Replicas {
		placed = append(placed, r.Name)
	}
	sort.Strings(placed)
	if !slices.Equal(placed, names) {
		t.Errorf("stream placed on %v; want a replica on every node %v", placed, names)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages; want 1", info.State.Msgs)
	}
}
