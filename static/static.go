// Package static embeds the console's stylesheet and scripts, so the binary serves them itself
// and no page loads anything from a CDN at run time.
package static

import "embed"

// HTMX is the file name of the pinned htmx build (from the npm package htmx.org).
const HTMX = "htmx-2.0.11.min.js"

// FS holds every static file, served under /static/.
//
//go:embed *.css *.js *.svg
var FS embed.FS
