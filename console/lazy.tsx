import type { ComponentType, FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/**
 * A view loaded when first shown: `lazy(() => import('./views/x.tsx').then((m) => m.X))` is a component that
 * imports its module (a chunk of its own, named by its hash) on first render and renders it once it is there.
 * Meanwhile it shows nothing (no "Loading…": the view's own loading state follows within a moment); if the chunk
 * cannot be had (a page from an older build, offline), a short notice says to reload.
 */
export function lazy<P extends object>(load: () => Promise<ComponentType<P> | undefined>): FunctionComponent<P> {
  let component: ComponentType<P> | undefined;
  let failed = false;
  let pending: Promise<void> | undefined;
  const fetchOnce = () =>
    (pending ??= load().then(
      (c) => {
        if (typeof c === 'function') component = c;
        else failed = true;
      },
      () => {
        failed = true;
        pending = undefined; // a later render tries again
      },
    ));
  return function Lazy(props: P) {
    const [, settled] = useState(0);
    useEffect(() => {
      if (component) return;
      let live = true;
      void fetchOnce().then(() => live && settled((n) => n + 1));
      return () => {
        live = false;
      };
    }, []);
    if (component) {
      const C = component;
      return <C {...props} />;
    }
    return failed ? <p class="notice bad">This part of the console could not be loaded: reload the page.</p> : null;
  };
}
