import type { ReactNode } from "react";
import "./globals.css";

export const metadata = {
  title: { default: "Ballast", template: "%s — Ballast" },
  description: "Keeps a searchable knowledge index in sync with code repositories.",
};

export const viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen">{children}</body>
    </html>
  );
}
