// Package docs serves an interactive reference of the API, Swagger UI, at /docs/.
//
// Choices, and why:
//
//   - Swagger UI rather than Redoc: a Go module (swgui) ships it with every
//     asset embedded, and its "Try it out" lets a reader send requests from the
//     page, which a read-only reference cannot.
//   - github.com/swaggest/swgui/v5emb, because it go:embeds Swagger UI 5.29's
//     JavaScript, CSS and favicons (gzipped, served precompressed) into the
//     binary: the page loads nothing from a CDN, so it works on offline machines
//     and in offline CI. Its v5cdn sibling, and the swguicdn build tag that
//     would switch v5emb to a CDN, are not used.
//   - The page fetches the spec from the server (specURL) rather than having it
//     inlined, so the reference shows exactly the document that clients download.
//   - validatorUrl stays null (swgui's default): otherwise Swagger UI sends the
//     spec to validator.swagger.io, an external host, for its badge.
//   - The page title is the spec's info.title (swgui appends " - Swagger UI"),
//     read from the spec the binary embeds, so renaming the API renames its
//     reference too.
package docs

import (
	"fmt"
	"net/http"

	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// basePath is where the reference lives; its assets are served under it too.
const basePath = "/docs/"

// Handler serves Swagger UI at GET /docs/, with its assets under /docs/, rendering
// the spec that the server serves at specURL (a path on the same host, such as
// "/openapi.yaml"). GET /docs redirects to /docs/. Mount it for both, e.g.
// mux.Handle("/docs", h) and mux.Handle("/docs/", h).
func Handler(specURL string) http.Handler {
	spec, err := gen.GetSpec()
	if err != nil {
		// The spec is embedded and go generate checked it: failing here means a
		// broken build, which no request could recover from.
		panic(fmt.Sprintf("docs: parse the embedded spec: %v", err))
	}

	ui := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       spec.Info.Title,
		SwaggerJSON: specURL,
		BasePath:    basePath,
	})

	mux := http.NewServeMux()
	mux.Handle("GET "+basePath, ui)
	mux.Handle("GET /docs", http.RedirectHandler(basePath, http.StatusMovedPermanently))
	return mux
}
