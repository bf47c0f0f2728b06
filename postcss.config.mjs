/** Tailwind CSS 4 through PostCSS: app/globals.css is compiled into a stylesheet file at build. */
export default {
  plugins: { "@tailwindcss/postcss": {} },
};
