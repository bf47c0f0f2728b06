import type { ReactNode } from "react";
import "./globals.css";

export const metadata = {
  title: "Ballast",
  description: "Keeps a searchable knowledge index in sync with code repositories.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
