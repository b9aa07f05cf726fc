package natsrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ErrNotReady is returned when the server does not accept connections in time.
var ErrNotReady = errors.New("natsrv: server not ready for connections")

// Options describes one embedded server. Zero values pick safe dev defaults:
// host 127.0.0.1, a free client port, JetStream enabled with StoreDir.
type Options struct {
	// ConfigFile, when set, is loaded first (nats.conf); the fields below
	// override what it says only when they are non-zero.
	ConfigFile string
	ServerName string
	Host       string
	// Port is the client port; 0 picks a free port.
	Port int
	// StoreDir holds JetStream data; required unless the config file sets it.
	StoreDir string
	// Cluster makes this server a member of a route cluster.
	Cluster *Cluster
	// ReadyTimeout bounds the wait for the server to accept clients (default 10s).
	ReadyTimeout time.Duration
	Logger       *slog.Logger
}

// Cluster is the route configuration of one member of a NATS cluster.
type Cluster struct {
	Name   string
	Host   string
	Port   int      // route port; 0 picks a free port
	Routes []string // nats-route://127.0.0.1:PORT of the other members
}

// Server is a running embedded nats-server.
type Server struct {
	ns   *server.Server
	opts *server.Options
	log  *slog.Logger
}

// Start configures and starts a server and waits until it accepts clients.
func Start(ctx context.Context, o Options) (*Server, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := &server.Options{}
	if o.ConfigFile != "" {
		loaded, err := server.ProcessConfigFile(o.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("natsrv: load %s: %w", o.ConfigFile, err)
		}
		opts = loaded
	}
	opts.NoSigs = true
	opts.JetStream = true
	if o.ServerName != "" {
		opts.ServerName = o.ServerName
	}
	if o.Host != "" || opts.Host == "" {
		opts.Host = firstNonEmpty(o.Host, "127.0.0.1")
	}
	if o.Port != 0 {
		opts.Port = o.Port
	} else if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if o.StoreDir != "" {
		opts.StoreDir = o.StoreDir
	}
	if opts.StoreDir == "" {
		return nil, errors.New("natsrv: StoreDir is required for JetStream")
	}
	if c := o.Cluster; c != nil {
		opts.Cluster.Name = c.Name
		opts.Cluster.Host = firstNonEmpty(c.Host, "127.0.0.1")
		opts.Cluster.Port = c.Port
		if opts.Cluster.Port == 0 {
			p, err := FreePort()
			if err != nil {
				return nil, err
			}
			opts.Cluster.Port = p
		}
		opts.Routes = nil
		for _, r := range c.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("natsrv: route %q: %w", r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsrv: new server: %w", err)
	}
	ns.SetLoggerV2(&slogAdapter{log: log.With("component", "nats-server")}, false, false, false)
	go ns.Start()
	wait := o.ReadyTimeout
	if wait == 0 {
		wait = 10 * time.Second
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		wait = time.Until(dl)
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		return nil, ErrNotReady
	}
	return &Server{ns: ns, opts: opts, log: log}, nil
}

// ClientURL is the nats:// URL clients dial.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// RouteURL is the nats-route:// URL other cluster members use, or "".
func (s *Server) RouteURL() string {
	if s.opts.Cluster.Port == 0 {
		return ""
	}
	return "nats-route://" + net.JoinHostPort(s.opts.Cluster.Host, strconv.Itoa(s.opts.Cluster.Port))
}

// Name is the server's name (its ID when none was configured).
func (s *Server) Name() string { return s.ns.Name() }

// Connect dials the server over loopback TCP with the given options.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	return nats.Connect(s.ClientURL(), opts...)
}

// Raw exposes the underlying server for tests that need it (JetStream state).
func (s *Server) Raw() *server.Server { return s.ns }

// Shutdown stops the server and waits for it to finish.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("natsrv: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// slogAdapter makes nats-server log through slog.
type slogAdapter struct{ log *slog.Logger }

func (a *slogAdapter) Noticef(format string, v ...any) { a.log.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.log.Warn(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Fatalf(format string, v ...any)  { a.log.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.log.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.log.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Tracef(format string, v ...any)  { a.log.Debug(fmt.Sprintf(format, v...)) }
