package web

import (
	"log/slog"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// responses counts every answer by route pattern (bounded: the routes
// registered in Run, "unmatched" for any other path) and status code.
var responses = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "jetpool_web_responses_total",
	Help: "HTTP responses of the web API by route pattern and status code.",
}, []string{"route", "code"})

// observe answers a handler's error through the error handler, then counts
// the response and logs every refused request (4xx) with what was refused
// and why; 5xx are logged by the error handler.
func observe(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" || route == "/*" {
				route = "unmatched"
			}
			code := c.Response().Status
			responses.WithLabelValues(route, strconv.Itoa(code)).Inc()
			if code >= 400 && code < 500 {
				log.Info("web request refused", "method", c.Request().Method, "path", c.Request().URL.Path,
					"route", route, "status", code, "remote", c.RealIP(), "err", err)
			}
			return nil
		}
	}
}
