import type { ReactNode } from "react";

export const metadata = {
  title: "Ballast",
  description: "Keeps a searchable knowledge index in sync with code repositories.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", margin: "2rem", maxWidth: "60rem" }}>
        {children}
      </body>
    </html>
  );
}
