import type { ReactNode } from 'react';
import { Link, useLocation } from 'wouter';

export function NotFoundPage(): ReactNode {
  const [location] = useLocation();
  return (
    <section>
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        There is no page at <code>{location}</code>. <Link href="/">Go to the overview</Link>.
      </p>
    </section>
  );
}
