package client

import (
	"context"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// utf8Labels refuses, before anything is sent, an update whose label is not
// UTF-8. encoding/json, with which gen writes the body, would send U+FFFD in
// place of each invalid byte, and the server would store a label other than
// the one given, with nothing to tell.
type utf8Labels struct{ gen.ClientInterface }

func (c utf8Labels) UpdateOAuthConnection(ctx context.Context, id gen.OAuthConnectionUUID, body gen.UpdateOAuthConnectionJSONRequestBody, reqEditors ...gen.RequestEditorFn) (*http.Response, error) {
	if label, err := body.Label.Get(); err == nil && !utf8.ValidString(label) {
		return nil, errors.New("client: the label is not valid UTF-8; JSON would send U+FFFD in place of its invalid bytes")
	}
	return c.ClientInterface.UpdateOAuthConnection(ctx, id, body, reqEditors...)
}
