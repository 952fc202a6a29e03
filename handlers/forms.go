package handlers

import (
	"fmt"

	"github.com/gin-gonic/gin"
)

// readForm parses the posted form and reports, through bad, a body that cannot be read and
// every field of once that was posted more than once. A console form sends each of them once;
// a repeat is a forged or garbled request, whose first and last values two readers (a proxy, a
// framework, this handler) could take differently, so it is refused rather than guessed at.
// It reports whether the body could be read.
func readForm(c *gin.Context, once []string, bad func(field, format string, args ...any)) bool {
	if err := c.Request.ParseForm(); err != nil {
		bad("", "the form cannot be read: %v", err)
		return false
	}
	for _, f := range once {
		if n := len(c.Request.PostForm[f]); n > 1 {
			bad(f, "given %d times; the form sends it once", n)
		}
	}
	return true
}

// refusedForm is readForm for the sign-in and account forms, which show one message: the first
// problem, as "field: message", or "" when the form is sound.
func refusedForm(c *gin.Context, once ...string) (field, msg string) {
	readForm(c, once, func(f, format string, args ...any) {
		if msg == "" {
			field, msg = f, fmt.Sprintf(format, args...)
		}
	})
	if msg != "" && field != "" {
		msg = field + ": " + msg
	}
	return field, msg
}
