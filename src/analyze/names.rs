//! What a Go function name says: its package path, whether that package is the standard
//! library, and the module version a file path carries.

/// The package path of a Go function name:
/// `github.com/tailscale/wireguard-go/device.(*Device).PopulatePools.func3` →
/// `github.com/tailscale/wireguard-go/device`; `runtime.mallocgc` → `runtime`.
/// Type parameters and receivers may contain dots and slashes, so only the part before the
/// first `[` or `(` is searched for the last slash.
pub fn package_of(function: &str) -> &str {
    let head_end = function.find(['[', '(']).unwrap_or(function.len());
    let head = &function[..head_end];
    let after_slash = head.rfind('/').map_or(0, |i| i + 1);
    match function[after_slash..].find('.') {
        Some(dot) => &function[..after_slash + dot],
        None => function,
    }
}

/// True for the Go standard library (and the runtime's internal packages): package paths
/// whose first element has no dot. `main`, `golang.org/x/sys/unix` and `C` (cgo) are not.
pub fn is_standard_package(package: &str) -> bool {
    let first = package.split('/').next().unwrap_or(package);
    !first.is_empty()
        && !first.contains('.')
        && !matches!(package, "C" | "main")
        && !first.starts_with('[')
}

/// Code a subsystem is charged to: outside the standard library, and outside
/// golang.org/x/sys, which only wraps system calls.
pub fn is_application_package(package: &str) -> bool {
    !is_standard_package(package) && !package.starts_with("golang.org/x/sys/")
}

/// A module path and version from a file path written by the Go toolchain:
/// `tailscale.com@v1.86.5/portlist/portlist_linux.go` → (`tailscale.com`, `v1.86.5`).
pub fn module_version(file: &str) -> Option<(&str, &str)> {
    let at = file.find('@')?;
    let start = file[..at]
        .rfind("/pkg/mod/")
        .map_or(0, |i| i + "/pkg/mod/".len());
    let module = &file[start..at];
    let rest = &file[at + 1..];
    let version = &rest[..rest.find('/').unwrap_or(rest.len())];
    (!module.is_empty() && version.starts_with('v')).then_some((module, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages() {
        assert_eq!(
            package_of("github.com/tailscale/wireguard-go/device.(*Device).PopulatePools.func3"),
            "github.com/tailscale/wireguard-go/device"
        );
        assert_eq!(package_of("runtime.mallocgc"), "runtime");
        assert_eq!(
            package_of("internal/runtime/syscall.Syscall6"),
            "internal/runtime/syscall"
        );
        assert_eq!(package_of("go4.org/mem.AppendFields"), "go4.org/mem");
        assert_eq!(
            package_of("sync/atomic.(*Pointer[net/http.http2clientConnIdleState]).Load"),
            "sync/atomic"
        );
        assert_eq!(
            package_of("tailscale.com/util/set.Set[go.shape.string].Add"),
            "tailscale.com/util/set"
        );
        assert_eq!(package_of("main.main"), "main");
        assert_eq!(package_of("[unknown]"), "[unknown]");
        assert_eq!(package_of(""), "");
    }

    #[test]
    fn standard_library() {
        assert!(is_standard_package("syscall"));
        assert!(is_standard_package("internal/poll"));
        assert!(is_standard_package("net/http"));
        assert!(!is_standard_package("tailscale.com/portlist"));
        assert!(!is_standard_package("golang.org/x/sys/unix"));
        assert!(!is_standard_package("main"));
        assert!(!is_standard_package(""));
    }

    #[test]
    fn module_versions() {
        assert_eq!(
            module_version("tailscale.com@v1.86.5/portlist/portlist_linux.go"),
            Some(("tailscale.com", "v1.86.5"))
        );
        assert_eq!(
            module_version("/root/go/pkg/mod/github.com/x/y@v0.0.0-2025-abc/z.go"),
            Some(("github.com/x/y", "v0.0.0-2025-abc"))
        );
        assert_eq!(module_version("runtime/proc.go"), None);
    }
}
