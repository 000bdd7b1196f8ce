package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli"

	"github.com/sidecar-mesh/mosn/pkg/config"
	mlog "github.com/sidecar-mesh/mosn/pkg/log"
	"github.com/sidecar-mesh/mosn/pkg/server"
)

// parse loads and validates the config named on the command line. Its
// errors are printed; a config with errors is refused.
func parse(c *cli.Context) (string, *config.Config, config.Problems, error) {
	path, err := configPath(c)
	if err != nil {
		return "", nil, nil, err
	}
	cfg, problems := config.Load(path)
	if cfg == nil || len(problems.Errors()) > 0 {
		report(os.Stderr, path, problems)
		return path, nil, nil, errQuiet{errors.New("invalid config")}
	}
	return path, cfg, problems, nil
}

// report prints problems, one per line, errors and unsupported features
// first.
func report(w io.Writer, file string, ps config.Problems) {
	for _, sev := range []config.Severity{config.SeverityError, config.SeverityUnsupported, config.SeverityWarning} {
		for _, p := range ps {
			if p.Severity == sev {
				fmt.Fprintf(w, "%s: %s: %s\n", file, sev, p)
			}
		}
	}
}

func validate(c *cli.Context) error {
	path, cfg, problems, err := parse(c)
	if err != nil {
		return err
	}
	_, built := server.Build(cfg, server.Options{Logger: slog.New(slog.DiscardHandler)})
	problems = append(problems, built...)
	report(os.Stderr, path, problems)
	if len(problems.Errors()) > 0 {
		return errQuiet{errors.New("invalid config")}
	}
	if n := len(problems.Unsupported()); n > 0 {
		fmt.Printf("config is valid; this build cannot run %d of its features yet (listed above), so `mosn start` refuses it\n", n)
		return nil
	}
	fmt.Printf("config is valid: %d listener(s), %d cluster(s)\n", countListeners(cfg), len(cfg.ClusterManager.Clusters))
	return nil
}

func countListeners(cfg *config.Config) int {
	n := 0
	for _, s := range cfg.Servers {
		n += len(s.Listeners)
	}
	return n
}

func start(c *cli.Context) error {
	path, cfg, problems, err := parse(c)
	if err != nil {
		return err
	}
	srvCfg := cfg.Servers[0]
	levelName := srvCfg.DefaultLogLevel
	if l := c.String("log-level"); l != "" {
		levelName = l
	}
	level, err := mlog.ParseLevel(levelName)
	if err != nil {
		return err
	}
	var lv slog.LevelVar
	lv.Set(level)
	logger, logFile, err := mlog.Open(srvCfg.DefaultLogPath, &lv)
	if err != nil {
		return fmt.Errorf("servers[0].default_log_path: %w", err)
	}
	if logFile != nil {
		defer logFile.Close()
	}

	srv, built := server.Build(cfg, server.Options{Logger: logger, LogLevel: &lv, Version: version})
	report(os.Stderr, path, append(problems, built...))
	if srv == nil {
		if n := len(built.Unsupported()); n > 0 {
			return fmt.Errorf("refusing to start: %d feature(s) of this config are not supported yet (listed above)", n)
		}
		return errQuiet{errors.New("config cannot be built")}
	}
	if srvCfg.Processor > 0 {
		runtime.GOMAXPROCS(srvCfg.Processor)
	}
	// Catch signals before binding: a SIGTERM sent as soon as the listeners
	// accept must drain, not kill the process with Go's default action.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if err := srv.Start(context.Background()); err != nil {
		return err
	}
	reopen := make(chan os.Signal, 1)
	signal.Notify(reopen, syscall.SIGUSR1)
	go func() {
		for range reopen { // log rotation: the files were moved away
			if f, ok := logFile.(*mlog.File); ok {
				if err := f.Reopen(); err != nil {
					logger.Error("reopening the error log", "err", err)
				}
			}
			if err := srv.ReopenLogs(); err != nil {
				logger.Error("reopening access logs", "err", err)
			}
			logger.Info("SIGUSR1: logs reopened")
		}
	}()
	pidFile := pidFilePath(c, cfg)
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		srv.Close()
		return fmt.Errorf("pid file: %w", err)
	}
	defer os.Remove(pidFile)
	logger.Info("started", "version", version, "config", path, "pid", os.Getpid(), "pid_file", pidFile, "gomaxprocs", runtime.GOMAXPROCS(0))

	sig := <-sigs
	if sig == syscall.SIGINT {
		logger.Info("SIGINT: stopping now")
		srv.Close()
		return nil
	}
	grace := srv.GracefulTimeout()
	logger.Info("SIGTERM: draining", "graceful_timeout", grace)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() { // a second signal cuts the drain short
		<-sigs
		cancel()
	}()
	srv.Shutdown(ctx)
	logger.Info("stopped")
	return nil
}

// pidFilePath is --pid-file, else the config's pid key, else a default.
func pidFilePath(c *cli.Context, cfg *config.Config) string {
	if p := c.String("pid-file"); p != "" {
		return p
	}
	if cfg != nil && cfg.Pid != "" {
		return cfg.Pid
	}
	return filepath.Join(os.TempDir(), "mosn.pid")
}

func stop(c *cli.Context) error {
	var cfg *config.Config
	if path, err := configPath(c); err == nil && c.String("pid-file") == "" {
		cfg, _ = config.Load(path)
	}
	pidFile := pidFilePath(c, cfg)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("no running proxy: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return fmt.Errorf("%s: bad pid %q", pidFile, strings.TrimSpace(string(data)))
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("pid %d: %w", pid, err)
	}
	// Wait for the drain to finish, as MOSN's stop does, and say so.
	grace := config.DefaultGracefulTimeout
	if cfg != nil && len(cfg.Servers) > 0 {
		grace = cfg.Servers[0].GracefulTimeout.D()
	}
	deadline := time.Now().Add(grace + 5*time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			fmt.Printf("stopped pid %d\n", pid)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("pid %d still running %v after SIGTERM", pid, grace+5*time.Second)
}
