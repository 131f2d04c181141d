/**
 * `fizz completion bash|zsh|fish`: a completion script for the shell. Each
 * script asks fizz itself for the candidates (`fizz __complete`, see
 * complete.ts), so verbs, flags, the current project's services and the
 * cluster's node names are always current; no candidates means file names.
 */
import { usageError } from "../core/errors.ts";
import type { RegisterVerb } from "./command.ts";

const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = (typeof SHELLS)[number];

/** Single-quotes a word for sh-like shells and fish. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function completionScript(shell: Shell, command: readonly string[]): string {
  const cmd = command.map(quote).join(" ");
  switch (shell) {
    case "bash":
      return `# fizz completion for bash. Load it with:  source <(fizz completion bash)
# or install it:  fizz completion bash > /etc/bash_completion.d/fizz
_fizz_complete() {
  # The words up to the cursor, split on blanks only (bash itself also splits at ':' and '=').
  local line=\${COMP_LINE:0:COMP_POINT}
  local -a words
  read -ra words <<< "$line"
  [[ $line == *[[:blank:]] ]] && words+=("")
  local cur=\${words[\${#words[@]}-1]}
  local IFS=$'\\n'
  local out
  out=$(FIZZ_LOG_LEVEL=silent ${cmd} __complete "\${words[@]:1}" 2>/dev/null) || return 0
  COMPREPLY=()
  if [[ -n $out ]]; then
    COMPREPLY=($(compgen -W "$out" -- "$cur"))
    [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == *[:=] ]] && compopt -o nospace 2>/dev/null
    # bash replaces only the part after the last ':' or '=' it split at.
    local pre=\${cur%"\${cur##*[:=]}"}
    [[ -n $pre ]] && COMPREPLY=("\${COMPREPLY[@]#"$pre"}")
  fi
  return 0
}
complete -o default -F _fizz_complete fizz
`;
    case "zsh":
      return `#compdef fizz
# fizz completion for zsh. Load it with:  source <(fizz completion zsh)
# or install it as _fizz in a directory of your $fpath.
_fizz() {
  local -a out
  out=("\${(@f)$(FIZZ_LOG_LEVEL=silent ${cmd} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  out=(\${out:#})
  if (( \${#out} )); then
    local -a plain suffixed
    plain=(\${out:#*[:=]})
    suffixed=(\${(M)out:#*[:=]})
    (( \${#plain} )) && compadd -- "\${plain[@]}"
    (( \${#suffixed} )) && compadd -S '' -- "\${suffixed[@]}"
  else
    _files
  fi
  return 0
}
if (( $+functions[compdef] )); then
  compdef _fizz fizz
else
  autoload -Uz compinit && compinit -u && compdef _fizz fizz
fi
`;
    case "fish":
      return `# fizz completion for fish. Load it with:  fizz completion fish | source
# or install it:  fizz completion fish > ~/.config/fish/completions/fizz.fish
function __fizz_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l cur (commandline -ct)
    set -a words "$cur"
    set -l out (env FIZZ_LOG_LEVEL=silent ${cmd} __complete $words 2>/dev/null)
    if test (count $out) -gt 0
        printf '%s\\n' $out
    else
        __fish_complete_path "$cur"
    end
end
complete -c fizz -f -a '(__fizz_complete)'
`;
  }
}

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("completion <shell>", "Print a shell completion script (bash, zsh or fish): verbs, flags, services, nodes")
    .example("source <(fizz completion bash)")
    .example("source <(fizz completion zsh)")
    .example("fizz completion fish | source")
    .action(
      action(async (ctx, args) => {
        const shell = args[0] as Shell;
        if (!SHELLS.includes(shell)) throw usageError(`unknown shell '${args[0] ?? ""}'`, `use one of: ${SHELLS.join(", ")}`);
        const { selfCommand } = await import("./agent-mode.ts");
        const self = await selfCommand();
        // An installed executable is completed by name, so the script survives upgrades and moves.
        const { basename } = await import("node:path");
        const command = self.length === 1 && basename(self[0]!) === "fizz" ? ["fizz"] : self;
        ctx.out(completionScript(shell, command));
        return 0;
      }),
    );
};
