package conformance

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// contract is what the kit knows of the API, all of it read from the embedded
// spec (through apispec) or from the code generated from it: the routes, the
// statuses, the limits, the messages and the names of the members. A change
// of api/openapi.yaml and go generate is all it takes for the kit to follow.
type contract struct {
	list, update, remove apispec.Operation
	// param is the path parameter of the item path, "{...}" included.
	param string
	// mediaType is the one media type of the update's request body.
	mediaType string
	// status is the status of each of the update's error answers, by the
	// name of the spec's component response it points to ("NotFound").
	status map[string]int
	limits apispec.Limits
	msgs   *apispec.Messages
	// labelMax is the label's maxLength; body is the update's request
	// schema, conn the connection's, as the update answers it.
	labelMax   int
	body, conn *openapi3.Schema
	// labelKey is the label's member name in a request body.
	labelKey string
	// stamps and expiries are the members of a connection written as
	// created_at and updated_at, and as an expiry, by the types gen gives
	// them (the spec's x-go-type); created and updated are the first two.
	stamps, expiries []string
	created, updated string
	refreshURL       string
	// messages are x-messages' answers' messages, validationByField a
	// 422's field messages, more the count of a 422's other errors.
	messages          []*template
	validationByField []*template
	more              string
	// retryMin is the least Retry-After of a 429, its schema's minimum.
	retryMin int
}

// The names the kit looks facts up by: the spec's operations, the component
// responses of the update, and the rate-limit headers. A spec that renames
// one fails the run at its start, never silently.
const (
	opList   = "listOAuthConnections"
	opUpdate = "updateOAuthConnection"
	opDelete = "deleteOAuthConnection"

	respUnauthenticated = "Unauthenticated"
	respNotFound        = "NotFound"
	respMalformed       = "MalformedBody"
	respTooLarge        = "BodyTooLarge"
	respMediaType       = "UnsupportedMediaType"
	respInvalid         = "ValidationFailed"
	respTooMany         = "TooManyRequests"

	hLimit      = "X-RateLimit-Limit"
	hRemaining  = "X-RateLimit-Remaining"
	hReset      = "X-RateLimit-Reset"
	hRetryAfter = "Retry-After"
)

var loadContract = sync.OnceValues(func() (*contract, error) {
	k := &contract{status: map[string]int{}, limits: apispec.LimitsOf(), msgs: apispec.MessagesOf(), labelMax: plannroauth.LabelMaxLength()}
	for _, op := range apispec.Operations() {
		switch op.ID {
		case opList:
			k.list = op
		case opUpdate:
			k.update = op
		case opDelete:
			k.remove = op
		}
	}
	for id, op := range map[string]apispec.Operation{opList: k.list, opUpdate: k.update, opDelete: k.remove} {
		if op.Op == nil || len(op.Success) == 0 {
			return nil, fmt.Errorf("conformance: the spec has no operation %s with a success status", id)
		}
	}
	k.param = regexp.MustCompile(`\{[^}]+\}`).FindString(k.update.Path)
	if k.param == "" || k.remove.Path != k.update.Path {
		return nil, fmt.Errorf("conformance: %s and %s are not on one path with a parameter", opUpdate, opDelete)
	}
	for code, ref := range k.update.Op.Responses.Map() {
		if n, err := strconv.Atoi(code); err == nil && ref.Ref != "" {
			k.status[ref.Ref[strings.LastIndexByte(ref.Ref, '/')+1:]] = n
		}
	}
	for _, name := range []string{respUnauthenticated, respNotFound, respMalformed, respTooLarge, respMediaType, respInvalid, respTooMany} {
		if k.status[name] == 0 {
			return nil, fmt.Errorf("conformance: %s declares no response %s", opUpdate, name)
		}
	}
	// The headers the kit reads by name: the spec must still declare them.
	for _, name := range []string{hLimit, hRemaining, hReset} {
		if k.list.Op.Responses.Status(k.list.Success[0]).Value.Headers[name] == nil {
			return nil, fmt.Errorf("conformance: %s declares no header %s", opList, name)
		}
	}
	retry := k.update.Op.Responses.Status(k.status[respTooMany]).Value.Headers[hRetryAfter]
	if retry == nil || retry.Value.Schema == nil || retry.Value.Schema.Value.Min == nil {
		return nil, fmt.Errorf("conformance: %s's %s declares no header %s with a minimum", opUpdate, respTooMany, hRetryAfter)
	}
	k.retryMin = int(*retry.Value.Schema.Value.Min)
	rb := k.update.Op.RequestBody
	if rb == nil || len(rb.Value.Content) != 1 {
		return nil, fmt.Errorf("conformance: %s needs one media type of request body", opUpdate)
	}
	for mt, content := range rb.Value.Content {
		k.mediaType, k.body = mt, content.Schema.Value
	}
	answer := k.update.Op.Responses.Status(k.update.Success[0]).Value.Content.Get(k.mediaType)
	if answer == nil || answer.Schema == nil {
		return nil, fmt.Errorf("conformance: %s answers no %s connection", opUpdate, k.mediaType)
	}
	k.conn = answer.Schema.Value
	k.labelKey = jsonName(reflect.TypeFor[gen.UpdateOAuthConnectionRequest](), "Label")
	if k.body.Properties[k.labelKey] == nil {
		return nil, fmt.Errorf("conformance: the request body has no %s", k.labelKey)
	}
	conn := reflect.TypeFor[gen.OAuthConnection]()
	k.stamps = jsonNamesOf(conn, reflect.TypeFor[plannroauth.Timestamp]())
	k.expiries = jsonNamesOf(conn, reflect.TypeFor[plannroauth.Expiry]())
	k.created, k.updated = jsonName(conn, "CreatedAt"), jsonName(conn, "UpdatedAt")
	k.refreshURL = jsonName(conn, "RefreshAuthorizationURL")
	k.messages, k.validationByField, k.more = compileMessages(k.msgs)
	return k, nil
})

// itemPath is the path of the connection id, as sent: id goes in unescaped,
// so that a check can send an encoded slash or a brace as it means to.
func (k *contract) itemPath(id string) string { return strings.Replace(k.update.Path, k.param, id, 1) }

// jsonName is the JSON member name of t's field.
func jsonName(t reflect.Type, field string) string {
	f, ok := t.FieldByName(field)
	if !ok {
		panic("conformance: gen has no field " + t.Name() + "." + field)
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// jsonNamesOf lists the JSON names of t's fields of type of, nullable or not
// (oapi-codegen's nullable.Nullable is a map of it).
func jsonNamesOf(t, of reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if ft := f.Type; ft == of || ft.Kind() == reflect.Map && ft.Elem() == of {
			names = append(names, jsonName(t, f.Name))
		}
	}
	return names
}

// connection is an OAuth2 connection as an answer shows it: the generated
// model, the raw object, and the members the spec's schema declares (at any
// depth), for comparing answers and reading each member as written.
type connection struct {
	gen.OAuthConnection
	raw     json.RawMessage
	members map[string]json.RawMessage
}

func (k *contract) decodeConnection(b []byte) (connection, error) {
	c := connection{raw: b}
	if err := json.Unmarshal(b, &c.OAuthConnection); err != nil {
		return c, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return c, err
	}
	return c, json.Unmarshal(mustJSON(declaredOnly(k.conn, v, false)), &c.members)
}

func (c connection) id() string { return c.UUID.String() }

// labelOf is the connection's label, nil when it is null or absent.
func (c connection) labelOf() *string {
	if v, err := c.Label.Get(); err == nil {
		return &v
	}
	return nil
}

// showLabel is a label as a report shows it.
func showLabel(l *string) string {
	if l == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *l)
}

// without returns the connection's members but the names, as JSON, for
// comparing what a change must leave alone.
func (c connection) without(names ...string) string {
	m := map[string]json.RawMessage{}
	for k, v := range c.members {
		m[k] = v
	}
	for _, n := range names {
		delete(m, n)
	}
	return string(mustJSON(m))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
