/** Bright (default, ISA-101 grey) or dark theme; the choice persists per panel in localStorage. */
type Theme = "bright" | "dark";
const KEY = "axviam.theme";

class ThemeState {
  current = $state<Theme>(localStorage.getItem(KEY) === "dark" ? "dark" : "bright");

  apply(): void {
    document.documentElement.dataset.theme = this.current;
  }

  toggle(): void {
    this.current = this.current === "dark" ? "bright" : "dark";
    localStorage.setItem(KEY, this.current);
    this.apply();
  }
}

export const theme = new ThemeState();
