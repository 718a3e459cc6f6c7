// etcd releases for offline use: built from the Go module proxy and laid out
// as a mirror in the upstream release layout, so the artifacts activity treats
// a `file://` mirror exactly like the GitHub release page:
//
//   <mirror>/v3.5.10/etcd-v3.5.10-linux-amd64.tar.gz   (etcd, etcdctl, etcdutl under one top directory)
//   <mirror>/v3.5.10/SHA256SUMS                         (`<sha256>  <file>` lines)
//
// `go install go.etcd.io/etcd/server/v3@v` cannot build etcd because upstream
// go.mod files carry replace directives, so each version is built from a
// small wrapper module that requires the server, etcdctl and etcdutl modules
// at that version and holds copies of their upstream `main` packages.
//
// Split along its seams: versions.ts (which versions: the Go module proxy),
// mirror.ts (the mirror's layout, tarballs, SHA256SUMS), build.ts (the Go build).
export * from './versions';
export * from './mirror';
export * from './build';
