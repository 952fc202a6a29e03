package handlers

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

// PolicyAPI is policy as code against a running Warden (`warden … --server URL --token T`): the
// current document, and importing one, for scripts holding a personal API token, so CI needs no
// database credentials. Reading needs any signed-in identity; importing, an admin, as in the
// console.
type PolicyAPI struct {
	Store *store.Store
	// MaxBodyBytes bounds an imported document (DefaultMaxPolicyBody when 0). It is read only
	// after the admin is authenticated.
	MaxBodyBytes int64
}

// DefaultMaxPolicyBody bounds a posted policy document: 64 MiB is four times the 100,000-key
// document of the speed figures.
const DefaultMaxPolicyBody = 64 << 20

// RevisionHeader carries the policy revision of a document the API answers with.
const RevisionHeader = "X-Warden-Revision"

// Export is GET /api/v1/policy: the document, as `warden export` prints it, with its revision
// in X-Warden-Revision.
func (h *PolicyAPI) Export(c *gin.Context) {
	doc, rev, err := h.Store.LoadDocument(c.Request.Context())
	if err != nil {
		policyError(c, err)
		return
	}
	out, err := models.EncodeDocument(doc)
	if err != nil {
		policyError(c, err)
		return
	}
	c.Header(RevisionHeader, strconv.FormatInt(rev, 10))
	c.Data(http.StatusOK, "application/yaml; charset=utf-8", out)
}

// Import is POST /api/v1/policy: the body is a policy document (YAML or JSON), applied as
// `warden import` applies it, in one transaction; the answer is the import summary. Every
// problem is 422 with the problems and their paths, nothing written. With ?base_revision=N
// (and base_sha256) it applies a saved plan as `warden apply` does: 409 with the changes since
// when the policy moved.
func (h *PolicyAPI) Import(c *gin.Context) {
	if !allowAdmin(c) {
		return
	}
	limit := h.maxBody()
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			policyError(c, models.Errorf(models.EInvalid, "the document is larger than %d bytes", limit))
			c.Status(http.StatusRequestEntityTooLarge)
			return
		}
		policyError(c, models.Errorf(models.EInvalid, "read the document: %v", err))
		return
	}
	doc, err := models.LoadDocument(data)
	if err != nil {
		policyError(c, err)
		return
	}
	// As `warden import` does locally: a document breaking its own guards is refused whole.
	if probs := resolver.GuardProblems(doc); len(probs) > 0 {
		policyError(c, probs)
		return
	}
	var sum *store.ImportSummary
	if b := c.Query("base_revision"); b != "" {
		// A saved plan (`warden apply --server`): written only if the policy is still the one
		// the plan was made against, checked in the write's transaction.
		rev, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil {
			policyError(c, models.Errorf(models.EInvalid, "base_revision: not a revision: %q", b))
			return
		}
		sum, err = h.Store.ApplyPlanned(c.Request.Context(), doc, actorOf(c), store.Base{Revision: rev, SHA256: c.Query("base_sha256")})
	} else {
		sum, err = h.Store.ApplyDocument(c.Request.Context(), doc, actorOf(c))
	}
	if err != nil {
		policyError(c, err)
		return
	}
	c.JSON(http.StatusOK, sum)
}

// policyError answers the policy API's errors as JSON: the message, and for an invalid document
// every problem with its path.
func policyError(c *gin.Context, err error) {
	status := statusOf(err)
	body := gin.H{"error": err.Error(), "status": status, "request_id": RequestID(c)}
	var probs models.Problems
	var conflict *models.ConflictError
	if errors.As(err, &conflict) {
		body["conflict"] = conflict
	}
	if errors.As(err, &probs) {
		body["problems"] = probs
		body["error"] = strconv.Itoa(len(probs)) + " problem(s); nothing was written"
	}
	if status == http.StatusInternalServerError {
		Logger(c).Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		body["error"] = InternalError
	}
	c.Abort()
	c.JSON(status, body)
}

// Replay is POST /api/v1/policy/replay?since=168h: the body is a policy document, and the
// answer the replay of the calls the decision log recorded over the window against it, as
// `warden policy replay --db` prints it. It writes nothing, so any signed-in identity may ask.
func (h *PolicyAPI) Replay(c *gin.Context) {
	since := 168 * time.Hour
	if s := c.Query("since"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			policyError(c, models.Errorf(models.EInvalid, "since: want a positive duration such as 168h, not %q", s))
			return
		}
		since = d
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, h.maxBody()))
	if err != nil {
		policyError(c, models.Errorf(models.EInvalid, "read the document: %v", err))
		return
	}
	after, err := models.LoadDocument(data)
	if err != nil {
		policyError(c, err)
		return
	}
	before, _, err := h.Store.LoadDocument(c.Request.Context())
	if err != nil {
		policyError(c, err)
		return
	}
	res, err := live.Replay(c.Request.Context(), h.Store, resolver.Build(before), resolver.Build(after), resolver.Scope{All: true}, since, time.Now())
	if err != nil {
		policyError(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

func (h *PolicyAPI) maxBody() int64 {
	if h.MaxBodyBytes > 0 {
		return h.MaxBodyBytes
	}
	return DefaultMaxPolicyBody
}
