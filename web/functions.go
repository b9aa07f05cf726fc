package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
)

// Subjects of the functions the web asks (functions/stats, functions/blocks).
// The web does not import those packages: they pull in database drivers.
// web_test runs the real functions, so a subject drifting apart fails there.
const (
	subjectPool     = "stats.pool"
	subjectHashrate = "stats.hashrate"
	subjectSeries   = "stats.series"
	subjectWorkers  = "stats.workers"
	subjectBlocks   = "ledger.blocks"
)

// askTimeout bounds one request to a function.
const askTimeout = 5 * time.Second

// ask sends req to a function over NATS and copies its JSON answer to the
// client. A function's error (micro's Nats-Service-Error headers) keeps its
// 4xx status and message; anything else becomes 502 or, when no copy of the
// function runs, 503 — each logged.
func (a *api) ask(c echo.Context, subject string, req any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", subject, err)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), askTimeout)
	defer cancel()
	msg, err := a.env.NC.RequestWithContext(ctx, subject, data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		a.env.Log.Warn("no function answers", "subject", subject)
		return echo.NewHTTPError(http.StatusServiceUnavailable, "service unavailable, try again shortly")
	case err != nil:
		a.env.Log.Error("function request failed", "subject", subject, "err", err)
		return echo.NewHTTPError(http.StatusBadGateway, "service did not answer")
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		status, _ := strconv.Atoi(code)
		text := msg.Header.Get("Nats-Service-Error")
		if status >= 400 && status < 500 {
			return echo.NewHTTPError(status, text)
		}
		a.env.Log.Error("function answered an error", "subject", subject, "code", code, "err", text)
		if status == http.StatusServiceUnavailable {
			return echo.NewHTTPError(status, "service busy, try again shortly")
		}
		return echo.NewHTTPError(http.StatusBadGateway, "service failed")
	}
	if !json.Valid(msg.Data) {
		a.env.Log.Error("function answered invalid JSON", "subject", subject, "bytes", len(msg.Data))
		return echo.NewHTTPError(http.StatusBadGateway, "service answered garbage")
	}
	return c.JSONBlob(http.StatusOK, msg.Data)
}
