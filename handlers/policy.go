package handlers

// Importing and exporting the whole policy document from the console, as `warden import` and
// `warden export` do.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// maxImportBytes bounds an uploaded policy document (the body limit, --max-body, applies first).
const maxImportBytes = 4 << 20

// Policy serves /import and /export.
type Policy struct {
	Store *store.Store
	State PolicyState
}

// Export downloads the enforced policy as a document, named after its revision.
func (h *Policy) Export(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	out, err := models.EncodeDocument(v.Doc)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="warden-policy-%d.yaml"`, v.Revision))
	c.Data(http.StatusOK, "application/yaml; charset=utf-8", out)
}

// ImportPage shows the upload form.
func (h *Policy) ImportPage(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	render(c, http.StatusOK, views.ImportPage(views.ImportProps{
		Layout: views.LayoutProps{Title: "Import a policy document", Nav: "import", Revision: v.Revision, Flash: popFlash(c)},
	}))
}

// ImportPreview reads an uploaded document (multipart field "document") and shows its whole
// diff against the enforced policy, or its problems with their paths. Nothing is written.
func (h *Policy) ImportPreview(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	p := views.ImportProps{Layout: views.LayoutProps{Title: "Import a policy document", Nav: "import", Revision: v.Revision}, Revision: v.Revision}
	data, err := uploaded(c)
	if err != nil {
		p.Problems = models.Problems{{Path: "document", Message: err.Error()}}
		render(c, http.StatusUnprocessableEntity, views.ImportPage(p))
		return
	}
	h.previewDocument(c, v.Revision, data, p, http.StatusOK)
}

// previewDocument renders the import preview of data.
func (h *Policy) previewDocument(c *gin.Context, rev int64, data []byte, p views.ImportProps, status int) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	doc, err := models.LoadDocument(data)
	var probs models.Problems
	if errors.As(err, &probs) {
		p.Problems = probs
		render(c, http.StatusUnprocessableEntity, views.ImportPage(p))
		return
	} else if err != nil {
		p.Problems = models.Problems{{Path: "document", Message: err.Error()}}
		render(c, http.StatusUnprocessableEntity, views.ImportPage(p))
		return
	}
	ch := draftChange(v, func(d *models.Document) error { *d = *doc.Clone(); return nil })
	if len(ch.problems) > 0 {
		p.Problems = ch.problems
		render(c, http.StatusUnprocessableEntity, views.ImportPage(p))
		return
	}
	_, sum, err := models.CanonicalDocument(doc)
	if err != nil {
		fail(c, err)
		return
	}
	_, base, err := models.CanonicalDocument(v.Doc)
	if err != nil {
		fail(c, err)
		return
	}
	p.Previewed, p.Document, p.Hash, p.BaseHash = true, string(data), sum, base
	p.Preview = previewAcross(ch.diff, "", 1)
	p.Preview.Revision, p.Preview.NoWhy = v.Revision, true
	render(c, status, views.ImportPage(p))
}

// documentHash is the canonical SHA-256 of a document ("" if it cannot be encoded).
func documentHash(doc *models.Document) string {
	_, sum, err := models.CanonicalDocument(doc)
	if err != nil {
		return ""
	}
	return sum
}

// uploaded reads the multipart upload, at most maxImportBytes.
func uploaded(c *gin.Context) ([]byte, error) {
	fh, err := c.FormFile("document")
	if err != nil {
		return nil, fmt.Errorf("choose a policy document (YAML) to upload")
	}
	if fh.Size > maxImportBytes {
		return nil, fmt.Errorf("the document is %d bytes; at most %d are read", fh.Size, maxImportBytes)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImportBytes {
		return nil, fmt.Errorf("the document is larger than %d bytes", maxImportBytes)
	}
	return data, nil
}

// ImportApply applies the previewed document (posted back with its hash, and the revision and
// hash of the policy it was previewed against) in one transaction, as `warden import` does,
// through store.ApplyPlanned: if the policy changed since the preview, it writes nothing and
// shows the new preview (409).
func (h *Policy) ImportApply(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	if !allowAdmin(c) {
		return
	}
	p := views.ImportProps{Layout: views.LayoutProps{Title: "Import a policy document", Nav: "import", Revision: v.Revision}, Revision: v.Revision}
	data := []byte(c.PostForm("document"))
	base, berr := strconv.ParseInt(c.PostForm("base_revision"), 10, 64)
	doc, derr := models.LoadDocument(data)
	switch {
	case berr != nil || base < 0:
		p.Problems = models.Problems{{Path: "base_revision", Message: "missing or malformed; apply from an import preview"}}
	case derr != nil:
		p.Problems = models.Problems{{Path: "document", Message: "the posted document is not the one previewed: " + derr.Error()}}
	case documentHash(doc) != c.PostForm("document_hash"):
		p.Problems = models.Problems{{Path: "document_hash", Message: "the posted document is not the one previewed; upload it again"}}
	}
	if len(p.Problems) > 0 {
		render(c, http.StatusUnprocessableEntity, views.ImportPage(p))
		return
	}
	sum, err := h.Store.ApplyPlanned(c.Request.Context(), doc, actorOf(c), store.Base{Revision: base, SHA256: c.PostForm("base_sha256")})
	var conflict *models.ConflictError
	var probs models.Problems
	switch {
	case errors.As(err, &conflict):
		if rerr := h.State.Refresh(c.Request.Context()); rerr != nil {
			fail(c, rerr)
			return
		}
		p.Message = "Nothing was imported: " + conflict.Error() + "."
		h.previewDocument(c, v.Revision, data, p, http.StatusConflict)
		return
	case errors.As(err, &probs):
		p.Problems = probs
		render(c, http.StatusUnprocessableEntity, views.ImportPage(p))
		return
	case models.ErrorCode(err) == models.EInvalid:
		p.Problems = models.Problems{{Path: "base_revision", Message: err.Error()}}
		render(c, http.StatusUnprocessableEntity, views.ImportPage(p))
		return
	case err != nil:
		fail(c, err)
		return
	}
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	msg := fmt.Sprintf("No change; revision stays %d", sum.Revision)
	if sum.Changed {
		msg = fmt.Sprintf("Imported — revision %d", sum.Revision)
	}
	setFlash(c, msg)
	redirect(c, "/audit")
}
