import type { ComponentChildren } from "preact";
import { render } from "preact";
import { lazy, Suspense } from "preact/compat";
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, useDemoApi } from "./api";
import { can } from "./roles";
import { bus, loadUser, type SessionUser, saveUser, useConnection } from "./store";
// uPlot's own layout rules (< 1 KB gz) ship in the shell's stylesheet: esbuild does not load CSS
// for a lazy chunk, and without them the analytics charts overlap their legends.
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { TaskDetailView } from "./task-detail";
import { FleetView, TasksView } from "./views";
import { ApprovalsView, ChatView, LogsView } from "./views-more";

// The chart library and the 3D graph are large: they load only when their view is opened.
const AnalyticsView = lazy(() => import("./analytics").then((m) => ({ default: m.AnalyticsView })));
const MeshView = lazy(() => import("./mesh").then((m) => ({ default: m.MeshView })));

/** `/demo` is the public, read-only, redacted dashboard (hub started with `M3SHD_DEMO=1`). */
const isDemo = location.pathname === "/demo" || location.pathname.startsWith("/demo/");
if (isDemo) useDemoApi();

function useRoute(): string[] {
  const read = () => (location.hash.replace(/^#\/?/, "") || "fleet").split("/").map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

function Login({ onLogin }: { onLogin: (u: SessionUser) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      const res = await api.login(String(form.get("username") ?? ""), String(form.get("password") ?? ""));
      onLogin(res.user);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 429
          ? "Too many attempts; wait a few minutes."
          : err instanceof ApiError && err.status === 401
            ? "Wrong username or password."
            : `Login failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" data-testid="login-view">
      <h1>M3SHD</h1>
      <form onSubmit={submit} class="card stack">
        <label>
          Username
          <input name="username" autocomplete="username" required data-testid="login-username" />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            data-testid="login-password"
          />
        </label>
        {error && (
          <p role="alert" class="error" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy} data-testid="login-submit">
          Log in
        </button>
      </form>
    </main>
  );
}

function ConnectionBadge() {
  const { state, reconnects, lastEventId } = useConnection();
  return (
    <output
      class={`conn conn-${state}`}
      data-testid="conn-state"
      data-state={state}
      data-reconnects={reconnects}
      data-last-event-id={lastEventId ?? ""}
      aria-live="polite"
      title={lastEventId ? `last event ${lastEventId}` : "no event yet"}
    >
      {state === "open" ? "live" : state}
      {reconnects > 0 && <span data-testid="conn-reconnects"> · {reconnects} reconnect(s)</span>}
    </output>
  );
}

/** Views; the public demo offers only those its redacted API can feed. */
const NAV: { id: string; label: string; show: (u: SessionUser) => boolean }[] = [
  { id: "fleet", label: "Fleet", show: () => true },
  { id: "tasks", label: "Tasks", show: () => true },
  { id: "chat", label: "Chat", show: () => !isDemo },
  { id: "logs", label: "Logs", show: () => !isDemo },
  { id: "approvals", label: "Approvals", show: () => !isDemo },
  { id: "analytics", label: "Analytics", show: (u) => !isDemo && can(u.role, "admin:analytics") },
  { id: "mesh", label: "Mesh", show: () => true },
];

function Shell({
  user,
  onLogout,
  children,
}: {
  user: SessionUser;
  onLogout: () => void;
  children: ComponentChildren;
}) {
  const route = useRoute();
  return (
    <div class="shell">
      {/* The app routes on the hash: following `#main` would leave the current view, so the
          skip link moves focus itself. */}
      {/* biome-ignore lint/a11y/useValidAnchor: a skip link is a link by convention (screen readers list it with the links); its href still names the target */}
      <a
        class="skip"
        href="#main"
        data-testid="skip-link"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <strong class="brand">M3SHD{isDemo && <span class="demo-tag"> demo</span>}</strong>
        <ConnectionBadge />
        <span class="who" data-testid="whoami" data-role={user.role}>
          {user.username} ({user.role})
        </span>
        {!isDemo && (
          <button type="button" class="ghost" onClick={onLogout} data-testid="logout">
            Log out
          </button>
        )}
      </header>
      <nav aria-label="Views" class="nav">
        {NAV.filter((n) => n.show(user)).map((n) => (
          <a
            key={n.id}
            href={`#/${n.id}`}
            aria-current={route[0] === n.id ? "page" : undefined}
            data-testid={`nav-${n.id}`}
          >
            {n.label}
          </a>
        ))}
      </nav>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

function Router({ user }: { user: SessionUser }) {
  const [view, id] = useRoute();
  const role = isDemo ? "viewer" : user.role;
  if (isDemo && !["fleet", "tasks", "task", "mesh"].includes(view ?? "")) return <FleetView />;
  switch (view) {
    case "tasks":
      return <TasksView role={role} />;
    case "task":
      return <TaskDetailView id={id ?? ""} role={role} />;
    case "chat":
      return <ChatView role={role} />;
    case "logs":
      return <LogsView />;
    case "approvals":
      return <ApprovalsView role={role} />;
    case "analytics":
      return (
        <Suspense fallback={<p aria-busy="true">Loading charts…</p>}>
          <AnalyticsView />
        </Suspense>
      );
    case "mesh":
      return (
        <Suspense fallback={<p aria-busy="true">Loading the mesh view…</p>}>
          <MeshView />
        </Suspense>
      );
    default:
      return <FleetView />;
  }
}

function App() {
  const [user, setUser] = useState<SessionUser | null>(() =>
    isDemo ? { id: "demo", username: "demo", role: "viewer" } : loadUser(),
  );
  useEffect(() => {
    if (!user) return;
    bus.start();
    return () => bus.stop();
  }, [user]);
  useEffect(() => {
    // A remembered user whose session expired or was revoked: back to the login form.
    const expired = () => {
      if (isDemo) return;
      saveUser(null);
      setUser(null);
    };
    addEventListener("m3shd:unauthorized", expired);
    return () => removeEventListener("m3shd:unauthorized", expired);
  }, []);
  useEffect(() => {
    if ("serviceWorker" in navigator && !isDemo) {
      navigator.serviceWorker.register("/sw.js").catch(() => {
        // Offline caching is a nicety: the dashboard works without it.
      });
    }
  }, []);
  if (!user) {
    return (
      <Login
        onLogin={(u) => {
          saveUser(u);
          setUser(u);
        }}
      />
    );
  }
  const logout = async () => {
    try {
      await api.logout();
    } finally {
      saveUser(null);
      setUser(null);
    }
  };
  return (
    <Shell user={user} onLogout={logout}>
      <Router user={user} />
    </Shell>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
