// Package baseline is the yardstick of the benchmarks (BENCHMARKS.md), not part
// of the product: the API's list and update written by hand on net/http, with the
// checks the spec implies coded by hand, over the same store. It does what the
// real server does for these two operations (bearer token, user by token hash,
// Content-Type, JSON decoding, the label's rules, the store, the same JSON
// answers and error bodies) and nothing else: no log line, no request ID, no
// rate limit, no spec. The real server must come close to it without giving up
// any of those.
package baseline

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// MaxBody is the largest body accepted, as the real server's default.
var MaxBody = apispec.LimitsOf().RequestBodyBytes

// msgs are the spec's messages, which the real server sends too.
var msgs = apispec.MessagesOf()

// Handler serves GET /api/v1/oauth/connections and PUT
// /api/v1/oauth/connections/{uuid} from st, now being the clock of
// updated_at (nil: time.Now).
func Handler(st store.Store, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	h := &handler{store: st, now: now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/oauth/connections", h.list)
	mux.HandleFunc("PUT /api/v1/oauth/connections/{uuid}", h.update)
	return mux
}

type handler struct {
	store store.Store
	now   func() time.Time
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r)
	if !ok {
		return
	}
	conns, err := h.store.ListConnections(r.Context(), u.ID)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	out := connectionList{Data: make([]connection, len(conns))}
	for i, c := range conns {
		out.Data[i] = toJSON(c)
	}
	writeJSON(w, out)
}

func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r)
	if !ok {
		return
	}
	raw := r.PathValue("uuid")
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		server.WriteError(w, r, apierror.NotFound)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		server.WriteError(w, r, apierror.New(http.StatusUnsupportedMediaType, msgs.UnsupportedMediaType))
		return
	}
	change, bad := decodeUpdate(w, r)
	if bad != nil {
		server.WriteError(w, r, bad)
		return
	}
	now := h.now() // before the write, as the server reads it
	c, err := h.store.UpdateConnection(r.Context(), u.ID, id, func(c *plannroauth.Connection) {
		c.Update(change, now, u.Location)
	})
	if errors.Is(err, plannroauth.ErrNotFound) {
		server.WriteError(w, r, apierror.NotFound)
		return
	}
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	writeJSON(w, toJSON(c))
}

// decodeUpdate reads the body of a PUT and applies the label's rules by hand:
// absent keeps it, null clears it, a string of at most the spec's maxLength
// sets it.
func decodeUpdate(w http.ResponseWriter, r *http.Request) (plannroauth.LabelChange, *apierror.Error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return plannroauth.LabelChange{}, apierror.New(http.StatusRequestEntityTooLarge, apispec.Format(msgs.BodyTooLarge, "max", strconv.FormatInt(MaxBody, 10)))
	case err != nil:
		return plannroauth.LabelChange{}, apierror.New(http.StatusBadRequest, msgs.BodyUnreadable)
	case len(bytes.TrimSpace(data)) == 0:
		return plannroauth.LabelChange{}, apierror.New(http.StatusBadRequest, msgs.BodyMissing)
	}
	var body struct {
		Label json.RawMessage `json:"label"`
	}
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(data, &body); errors.As(err, &typeErr) {
		return plannroauth.LabelChange{}, invalid("body", msgs.Validation["body"])
	} else if err != nil {
		return plannroauth.LabelChange{}, apierror.New(http.StatusBadRequest, msgs.InvalidJSON)
	}
	change := plannroauth.LabelChange{Keep: body.Label == nil}
	if change.Keep || string(body.Label) == "null" {
		return change, nil
	}
	var label string
	if err := json.Unmarshal(body.Label, &label); err != nil {
		return change, invalid("label", apispec.Format(msgs.Validation["type.string"], "attribute", "label"))
	}
	if max := plannroauth.LabelMaxLength(); utf8.RuneCountInString(label) > max {
		return change, invalid("label", apispec.Format(msgs.Validation["maxLength"], "attribute", "label", "max", strconv.Itoa(max)))
	}
	change.Label = &label
	return change, nil
}

func invalid(field, message string) *apierror.Error {
	return apierror.Validation(map[string][]string{field: {message}}, []string{field})
}

// user authenticates r, or answers 401 and reports false.
func (h *handler) user(w http.ResponseWriter, r *http.Request) (plannroauth.User, bool) {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && plannroauth.ValidToken(token) {
		u, err := h.store.UserByToken(r.Context(), plannroauth.HashToken(token))
		if err == nil {
			return u, true
		}
		if !errors.Is(err, plannroauth.ErrNotFound) {
			server.WriteError(w, r, err)
			return plannroauth.User{}, false
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
	server.WriteError(w, r, apierror.Unauthenticated)
	return plannroauth.User{}, false
}

// connection is the spec's OAuthConnection, as a hand-written handler would
// declare it: plain pointers for what may be null.
type connection struct {
	UUID                    uuid.UUID             `json:"uuid"`
	Label                   *string               `json:"label"`
	Provider                provider              `json:"provider"`
	CreatedAt               plannroauth.Timestamp `json:"created_at"`
	UpdatedAt               plannroauth.Timestamp `json:"updated_at"`
	AccessTokenExpiresAt    *plannroauth.Expiry   `json:"access_token_expires_at"`
	RefreshTokenExpiresAt   *plannroauth.Expiry   `json:"refresh_token_expires_at"`
	RefreshAuthorizationURL string                `json:"refresh_authorization_url"`
}

type provider struct {
	Name             string `json:"name"`
	Label            string `json:"label"`
	LogoURL          string `json:"logo_url"`
	AuthorizationURL string `json:"authorization_url"`
}

type connectionList struct {
	Data []connection `json:"data"`
}

func toJSON(c plannroauth.Connection) connection {
	return connection{
		UUID:     c.UUID,
		Label:    c.Label,
		Provider: provider(c.Provider),

		CreatedAt:               plannroauth.Timestamp{Time: c.CreatedAt},
		UpdatedAt:               plannroauth.Timestamp{Time: c.UpdatedAt},
		AccessTokenExpiresAt:    expiry(c.AccessTokenExpiresAt),
		RefreshTokenExpiresAt:   expiry(c.RefreshTokenExpiresAt),
		RefreshAuthorizationURL: c.RefreshAuthorizationURL(),
	}
}

func expiry(t *time.Time) *plannroauth.Expiry {
	if t == nil {
		return nil
	}
	return &plannroauth.Expiry{Time: *t}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v) // the client has gone if this fails
}
