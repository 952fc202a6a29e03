package handlers

// Recorded traffic: the replay of the decision log's calls against a draft, which every
// preview shows beside the static diff.

import (
	"fmt"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

// replayRows is how many tools and keys a preview lists per direction; the JSON lists all.
const replayRows = 20

// replayWindow reads the preview's window (replay_window: one of views.ReplayWindows, default
// views.ReplayDefaultWindow).
func replayWindow(c *gin.Context) (string, time.Duration, *models.Problem) {
	w := c.PostForm("replay_window")
	if w == "" {
		w = views.ReplayDefaultWindow
	}
	for _, o := range views.ReplayWindows {
		if o.Value == w {
			d, _ := time.ParseDuration(w)
			return w, d, nil
		}
	}
	return views.ReplayDefaultWindow, 0, &models.Problem{Path: "replay_window", Message: fmt.Sprintf("must be 24h, 168h or 720h, not %q", w)}
}

// replayProps is a replay as a preview panel shows it.
func replayProps(window string, res resolver.ReplayResult) *views.ReplayProps {
	return &views.ReplayProps{Window: window, Since: res.Since, Calls: res.Calls, Keys: res.Keys,
		Denied: replayChange(res.NewlyDenied), Allowed: replayChange(res.NewlyAllowed)}
}

func replayChange(c resolver.ReplayChange) views.ReplayChange {
	out := views.ReplayChange{Calls: c.Calls, Keys: c.Keys, Tools: len(c.ByTool)}
	for i, t := range c.ByTool {
		if i == replayRows {
			out.MoreTools = len(c.ByTool) - i
			break
		}
		out.ByTool = append(out.ByTool, views.ReplayToolRow{Server: t.Server, Tool: t.Tool, Calls: t.Calls, Keys: t.Keys, LastSeen: t.LastSeen})
	}
	for i, k := range c.ByKey {
		if i == replayRows {
			out.MoreKeys = len(c.ByKey) - i
			break
		}
		out.ByKey = append(out.ByKey, views.ReplayKeyRow{Key: k.Key, Calls: k.Calls, LastSeen: k.LastSeen})
	}
	return out
}
