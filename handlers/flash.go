package handlers

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
)

// The flash message survives one redirect in a short-lived cookie (Post/Redirect/Get).
const flashCookie = "warden_flash"

func setFlash(c *gin.Context, msg string) {
	c.SetSameSite(http.SameSiteLaxMode)
	c.SetCookie(flashCookie, url.QueryEscape(msg), 60, "/", "", false, true)
}

// popFlash returns the pending flash message, if any, and clears it.
func popFlash(c *gin.Context) string {
	v, err := c.Cookie(flashCookie)
	if err != nil || v == "" {
		return ""
	}
	c.SetCookie(flashCookie, "", -1, "/", "", false, true)
	msg, err := url.QueryUnescape(v)
	if err != nil {
		return ""
	}
	return msg
}
