// Command mosn is the sidecar proxy daemon, driven as MOSN users know it:
//
//	mosn start -c config.json     run (SIGTERM drains and stops, SIGINT stops at once)
//	mosn stop                     send SIGTERM to the process in the pid file
//	mosn validate -c config.json  parse and validate only; exit 0 or 1
//	mosn version
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/urfave/cli"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

// defaultConfig is tried, relative to the working directory and then to the
// binary's directory and its parent, when neither -c nor MOSN_CONFIG is given.
const defaultConfig = "configs/mosn.json"

var (
	configFlag = cli.StringFlag{
		Name:   "config, c",
		Usage:  "configuration file (default: " + defaultConfig + ")",
		EnvVar: "MOSN_CONFIG",
	}
	logLevelFlag = cli.StringFlag{
		Name:  "log-level, l",
		Usage: "log level, overriding the config's default_log_level: TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, FATAL",
	}
	pidFileFlag = cli.StringFlag{
		Name:  "pid-file",
		Usage: "pid file (default: the config's pid key, else " + filepath.Join(os.TempDir(), "mosn.pid") + ")",
	}
)

func main() {
	app := cli.NewApp()
	app.Name = "mosn"
	app.Usage = "service-mesh sidecar proxy (MOSN-compatible configuration)"
	app.Version = version
	app.HideVersion = true
	app.Commands = []cli.Command{
		{
			Name:   "start",
			Usage:  "start the proxy",
			Flags:  []cli.Flag{configFlag, logLevelFlag, pidFileFlag},
			Action: start,
		},
		{
			Name:   "stop",
			Usage:  "stop the proxy whose pid is in the pid file (graceful, as SIGTERM)",
			Flags:  []cli.Flag{configFlag, pidFileFlag},
			Action: stop,
		},
		{
			Name:   "validate",
			Usage:  "parse and validate a configuration; exit 0 if it is valid, 1 if not",
			Flags:  []cli.Flag{configFlag},
			Action: validate,
		},
		{
			Name:  "version",
			Usage: "print the version",
			Action: func(*cli.Context) error {
				fmt.Printf("mosn version %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
				return nil
			},
		},
	}
	if err := app.Run(os.Args); err != nil {
		var quiet errQuiet
		if !errors.As(err, &quiet) {
			fmt.Fprintln(os.Stderr, "mosn:", err)
		}
		os.Exit(1)
	}
}

// errQuiet fails the command after its output has already said why.
type errQuiet struct{ error }

// configPath resolves -c / MOSN_CONFIG, else the default config.
func configPath(c *cli.Context) (string, error) {
	if p := c.String("config"); p != "" {
		return p, nil
	}
	candidates := []string{defaultConfig}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		candidates = append(candidates, filepath.Join(dir, defaultConfig), filepath.Join(dir, "..", defaultConfig))
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no config given (-c or MOSN_CONFIG) and no %s found", defaultConfig)
}
