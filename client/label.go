package client

import (
	"context"
	"fmt"
	"net/http"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// utf8Labels refuses, before anything is sent, an update whose label is not
// UTF-8. encoding/json, with which gen writes the body, would send U+FFFD in
// place of each invalid byte, and the server would store a label other than
// the one given, with nothing to tell.
type utf8Labels struct{ gen.ClientInterface }

func (c utf8Labels) UpdateOAuthConnection(ctx context.Context, id gen.OAuthConnectionUUID, body gen.UpdateOAuthConnectionJSONRequestBody, reqEditors ...gen.RequestEditorFn) (*http.Response, error) {
	if label, err := body.Label.Get(); err == nil {
		if err := plannroauth.CheckUTF8(label); err != nil {
			return nil, fmt.Errorf("client: the label is %w; JSON would send U+FFFD in place of its invalid bytes", err)
		}
	}
	return c.ClientInterface.UpdateOAuthConnection(ctx, id, body, reqEditors...)
}
