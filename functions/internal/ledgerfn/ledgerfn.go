package ledgerfn

import (
	"context"

	"github.com/nats-io/nats.go/micro"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/ledger"
)

// Start opens the ledger at env.Deps.PostgresDSN (migrating it) and then
// announces this copy of the function as name (functions.Announce). The
// caller closes the store when its Run returns; if announcing fails Start
// closes it and returns the error.
func Start(ctx context.Context, env *functions.Env, name, description string) (*ledger.Store, micro.Service, error) {
	st, err := ledger.Open(ctx, env.Deps.PostgresDSN)
	if err != nil {
		return nil, nil, err
	}
	svc, err := functions.Announce(ctx, env, name, description)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, svc, nil
}
