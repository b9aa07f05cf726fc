package localsvc

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ClickHouseOptions describes one local ClickHouse server.
type ClickHouseOptions struct {
	// DataDir holds config.xml, users.xml and all server data (under data/). Required.
	DataDir string
	// TCPPort (native protocol) and HTTPPort on 127.0.0.1; 0 picks free ones.
	TCPPort  int
	HTTPPort int
	// Install lets a root process apt-get clickhouse-server when it is missing.
	Install bool
	// StartTimeout bounds the wait for a native ping (default 60s).
	StartTimeout time.Duration
	Logger       *slog.Logger
}

// ClickHouse is a running ClickHouse server, child of this process.
type ClickHouse struct {
	dataDir  string
	tcpPort  int
	httpPort int
	child    *child
	log      *slog.Logger
}

// clickHousePackages are the Debian packages that provide the server.
var clickHousePackages = []string{"clickhouse-server", "clickhouse-client"}

// StartClickHouse writes a minimal config into DataDir, starts the server as
// a child process and waits until it answers a native-protocol ping. The
// config keeps to keys both Debian's 18.16 and current releases accept.
func StartClickHouse(ctx context.Context, o ClickHouseOptions) (*ClickHouse, error) {
	log := discardIfNil(o.Logger).With("svc", "clickhouse")
	if o.DataDir == "" {
		return nil, errors.New("localsvc: clickhouse: DataDir is required")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("localsvc: clickhouse: %w", err)
	}
	bin, args, err := findClickHouse(exec.LookPath)
	if errors.Is(err, ErrNotInstalled) && o.Install {
		if ierr := aptInstall(ctx, log, clickHousePackages...); ierr != nil {
			return nil, ierr
		}
		bin, args, err = findClickHouse(exec.LookPath)
	}
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o750); err != nil {
		return nil, fmt.Errorf("localsvc: clickhouse: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		c := &ClickHouse{dataDir: dir, log: log}
		if c.tcpPort, err = pickPort(o.TCPPort); err != nil {
			return nil, err
		}
		if c.httpPort, err = pickPort(o.HTTPPort); err != nil {
			return nil, err
		}
		lastErr = c.start(ctx, bin, args, o)
		if lastErr == nil {
			return c, nil
		}
		if (o.TCPPort != 0 && o.HTTPPort != 0) || !errors.Is(lastErr, ErrExited) {
			break
		}
		log.Warn("clickhouse exited during start; retrying on other ports", "err", lastErr)
	}
	return nil, lastErr
}

func (c *ClickHouse) start(ctx context.Context, bin string, pre []string, o ClickHouseOptions) error {
	cfgPath, err := writeClickHouseConfig(c.dataDir, c.tcpPort, c.httpPort)
	if err != nil {
		return err
	}
	args := append(append([]string{}, pre...), "--config-file="+cfgPath)
	ch, err := startChild(childSpec{name: "clickhouse", path: bin, args: args, dir: c.dataDir, env: childEnv(c.dataDir)}, c.log)
	if err != nil {
		return err
	}
	c.child = ch
	sctx, cancel := startCtx(ctx, o.StartTimeout)
	defer cancel()
	if err := ch.waitReady(sctx, c.ping); err != nil {
		_ = ch.stop(context.Background(), syscall.SIGKILL, 0)
		return fmt.Errorf("localsvc: clickhouse: %w", err)
	}
	c.log.Info("clickhouse ready", "tcp_port", c.tcpPort, "http_port", c.httpPort, "dir", c.dataDir, "pid", ch.pid())
	return nil
}

func (c *ClickHouse) ping(ctx context.Context) error {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{c.Addr()},
		Auth:        clickhouse.Auth{Database: "default", Username: "default"},
		Protocol:    clickhouse.Native,
		DialTimeout: 2 * time.Second,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Ping(ctx)
}

// Addr is host:port of the native protocol (clickhouse.Options.Addr).
func (c *ClickHouse) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.tcpPort))
}

// DSN is the native-protocol URL of the default database.
func (c *ClickHouse) DSN() string { return c.DSNFor("default") }

// DSNFor is the native-protocol URL of another database on this server.
func (c *ClickHouse) DSNFor(database string) string {
	return "clickhouse://" + c.Addr() + "/" + database
}

// TCPPort is the native protocol port; HTTPPort the HTTP interface port.
func (c *ClickHouse) TCPPort() int  { return c.tcpPort }
func (c *ClickHouse) HTTPPort() int { return c.httpPort }

// DataDir is the server's directory.
func (c *ClickHouse) DataDir() string { return c.dataDir }

// PID is the server's process id (also its process group id).
func (c *ClickHouse) PID() int { return c.child.pid() }

// Exited is closed when the server process has exited.
func (c *ClickHouse) Exited() <-chan struct{} { return c.child.done }

// Stop sends SIGTERM and kills the process group if the server has not
// exited after 15 s or when ctx ends.
func (c *ClickHouse) Stop(ctx context.Context) error {
	return c.child.stop(ctx, syscall.SIGTERM, defaultStopGrace)
}

// findClickHouse locates the server: the classic clickhouse-server binary,
// or the single `clickhouse` binary with the `server` subcommand.
func findClickHouse(lookPath func(string) (string, error)) (bin string, args []string, err error) {
	for _, name := range []string{"clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if p, err := lookPath(name); err == nil {
			return p, nil, nil
		}
	}
	for _, name := range []string{"clickhouse", "/usr/bin/clickhouse"} {
		if p, err := lookPath(name); err == nil {
			return p, []string{"server"}, nil
		}
	}
	return "", nil, fmt.Errorf("%w: ClickHouse (no clickhouse-server or clickhouse binary); run: %s",
		ErrNotInstalled, aptCommand(clickHousePackages...))
}

// writeClickHouseConfig writes config.xml and users.xml into dir. Every path
// points under dir; only the native and HTTP ports listen, on 127.0.0.1
// (no interserver, MySQL or PostgreSQL ports). <yandex> is the root element
// 18.16 requires and current releases still accept.
func writeClickHouseConfig(dir string, tcpPort, httpPort int) (string, error) {
	data := filepath.Join(dir, "data") + "/"
	x := html.EscapeString
	config := `<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <console>1</console>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>` + strconv.Itoa(tcpPort) + `</tcp_port>
    <http_port>` + strconv.Itoa(httpPort) + `</http_port>
    <path>` + x(data) + `</path>
    <tmp_path>` + x(data) + `tmp/</tmp_path>
    <user_files_path>` + x(data) + `user_files/</user_files_path>
    <format_schema_path>` + x(data) + `format_schemas/</format_schema_path>
    <user_scripts_path>` + x(data) + `user_scripts/</user_scripts_path>
    <user_defined_path>` + x(data) + `user_defined/</user_defined_path>
    <access_control_path>` + x(data) + `access/</access_control_path>
    <users_config>` + x(filepath.Join(dir, "users.xml")) + `</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`
	users := `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default></default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default></default>
    </quotas>
</yandex>
`
	cfgPath := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o640); err != nil {
		return "", fmt.Errorf("localsvc: clickhouse: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(users), 0o640); err != nil {
		return "", fmt.Errorf("localsvc: clickhouse: %w", err)
	}
	return cfgPath, nil
}
