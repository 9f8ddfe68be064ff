package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// template is one message of x-messages, and a pattern that matches it with
// its :placeholders filled in.
type template struct {
	name, text string
	re         *regexp.Regexp
	params     []string
}

var placeholder = regexp.MustCompile(`:[A-Za-z]+`)

// moreKey names, in x-messages.validation, the count of a 422's other errors
// rather than a field's message.
const moreKey = "more"

func compileTemplate(name, text string) *template {
	t := &template{name: name, text: text}
	var re strings.Builder
	re.WriteString("^")
	last := 0
	for _, loc := range placeholder.FindAllStringIndex(text, -1) {
		re.WriteString(regexp.QuoteMeta(text[last:loc[0]]) + "(.+?)")
		t.params = append(t.params, text[loc[0]+1:loc[1]])
		last = loc[1]
	}
	re.WriteString(regexp.QuoteMeta(text[last:]) + "$")
	t.re = regexp.MustCompile(re.String())
	return t
}

// match reports whether s is the template filled in, and with what.
func (t *template) match(s string) (map[string]string, bool) {
	m := t.re.FindStringSubmatch(s)
	if m == nil {
		return nil, false
	}
	args := map[string]string{}
	for i, p := range t.params {
		args[p] = m[i+1]
	}
	return args, true
}

// compileMessages reads x-messages: the messages of the answers, those of a
// 422's fields, and the "more" that counts a 422's other errors.
func compileMessages(m *apispec.Messages) (top, fields []*template, more string) {
	var all map[string]any
	if err := json.Unmarshal(mustJSON(m), &all); err != nil {
		panic(err)
	}
	for name, v := range all {
		if s, ok := v.(string); ok {
			top = append(top, compileTemplate(name, s))
		}
	}
	for name, text := range m.Validation {
		if name == moreKey {
			more = text
			continue
		}
		fields = append(fields, compileTemplate("validation."+name, text))
	}
	byName := func(a, b *template) int { return strings.Compare(a.name, b.name) }
	slices.SortFunc(top, byName)
	slices.SortFunc(fields, byName)
	return top, fields, more
}

func matchAny(ts []*template, s string) bool {
	return slices.ContainsFunc(ts, func(t *template) bool { _, ok := t.match(s); return ok })
}

type errorBody struct {
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors"`
}

// messageProblem says how an error answer's body breaks the rule that every
// message the API sends is in x-messages word for word, and a 422's errors
// are every failure of sent, the request's body, and no other, its message
// the first followed by the count of the others; "" when it keeps to it.
func (k *contract) messageProblem(status int, sent, body []byte) (field, problem string) {
	var e errorBody
	if json.Unmarshal(body, &e) != nil {
		return "", "" // the spec's check of the body has said so
	}
	if status != k.status[respInvalid] {
		if !matchAny(k.messages, e.Message) {
			return "body.message", fmt.Sprintf("a message of x-messages word for word; got %q", e.Message)
		}
		return "", ""
	}
	for _, name := range slices.Sorted(maps.Keys(e.Errors)) {
		for _, msg := range e.Errors[name] {
			if !matchAny(k.validationByField, msg) {
				return "body.errors." + name, fmt.Sprintf("messages of x-messages.validation word for word; got %q", msg)
			}
		}
	}
	if field, problem := k.errorsProblem(sent, e.Errors); problem != "" {
		return field, problem
	}
	want, err := k.laravelMessage(body)
	if err != nil {
		return "body.errors", fmt.Sprintf("at least one error by field; got %s", err)
	}
	if e.Message != want {
		return "body.message", fmt.Sprintf("the first error, then the count of the others (x-messages.validation.more): %q; got %q", want, e.Message)
	}
	return "", ""
}

// errorsProblem says how a 422's errors differ from the failures the spec
// gives sent: each field's messages must be exactly its failures, in any
// order, since the spec fixes none. When the spec finds no failure in sent,
// the 422 is itself what is wrong, and the check that expected another
// answer says so.
func (k *contract) errorsProblem(sent []byte, got map[string][]string) (field, problem string) {
	want := k.failures(sent)
	if len(want) == 0 {
		return "", ""
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if !sameMessages(got[name], want[name]) {
			return "body.errors." + name, fmt.Sprintf("exactly the failures of the body sent, %q; got %q", want[name], got[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok {
			// The name is the server's: in the text, which is redacted.
			return "body.errors", fmt.Sprintf("only the fields that failed, %q; got %q too", slices.Sorted(maps.Keys(want)), name)
		}
	}
	return "", ""
}

// sameMessages reports whether a and b hold the same messages, as many
// times each, in any order.
func sameMessages(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// laravelMessage is the message Laravel gives a 422 of body's errors: the
// first message of the first field, then "(and N more errors)" in the words
// of x-messages.validation.more for the rest.
func (k *contract) laravelMessage(body []byte) (string, error) {
	var v struct {
		Errors json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", err
	}
	// The first field in the order sent: a map would lose it.
	dec := json.NewDecoder(bytes.NewReader(v.Errors))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", errors.New("errors is not an object")
	}
	first, total := "", 0
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return "", err
		}
		var msgs []string
		if err := dec.Decode(&msgs); err != nil {
			return "", err
		}
		if total == 0 && len(msgs) > 0 {
			first = msgs[0]
		}
		total += len(msgs)
	}
	if total == 0 {
		return "", errors.New("errors holds no message")
	}
	if total == 1 {
		return first, nil
	}
	return first + " " + apispec.Plural(k.more, total-1), nil
}

// failures are the messages the spec gives body, by field, as a 422 words
// them: "body" alone for JSON that is not an object, else each member of the
// schema that breaks its rules, which are all the schema has.
func (k *contract) failures(body []byte) map[string][]string {
	var value any
	if json.Unmarshal(body, &value) != nil {
		return nil
	}
	fields := []string{"body"}
	if _, ok := value.(map[string]any); ok {
		fields = slices.Sorted(maps.Keys(k.body.Properties))
	}
	out := map[string][]string{}
	for _, field := range fields {
		if msgs := k.fieldMessages(field, body); len(msgs) > 0 {
			out[field] = msgs
		}
	}
	return out
}

// fieldMessages are the messages the spec gives body's field ("body" for
// the body as a whole, else a member of it), as the API words a 422: the
// member trimmed first, as the API does; the spec's schema decides which
// rules it breaks, x-messages words them.
func (k *contract) fieldMessages(field string, body []byte) []string {
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return nil
	}
	schema := k.body
	if field != "body" {
		obj, _ := value.(map[string]any)
		value, schema = obj[field], k.body.Properties[field].Value
		if s, ok := value.(string); ok {
			if value, ok = plannroauth.Trim(s); !ok {
				value = nil
			}
		}
	}
	err := schema.VisitJSON(value, append(validation.FormatOptions(), openapi3.MultiErrors())...)
	var out []string
	var walk func(error)
	walk = func(err error) {
		var me openapi3.MultiError
		var se *openapi3.SchemaError
		switch {
		case errors.As(err, &me):
			for _, e := range me {
				walk(e)
			}
		case errors.As(err, &se):
			out = append(out, apispec.FieldMessage(field, se))
		}
	}
	walk(err)
	return out
}
