# Homebrew formula template for docker-credential-keyring.
# For a release: set `url` to the tag's tarball and `sha256` to
#   curl -sL <url> | shasum -a 256
# then copy this file into a tap (Formula/docker-credential-keyring.rb).
# packaging/homebrew/test checks it (ruby -c, then runs install and test do
# against this checkout with a minimal stand-in for Homebrew's DSL).
class DockerCredentialKeyring < Formula
  desc "Registry credential helper for docker/podman/skopeo backed by the OS keyring"
  homepage "https://github.com/docker-credential-keyring/docker-credential-keyring"
  url "https://github.com/docker-credential-keyring/docker-credential-keyring/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license any_of: ["MIT", "Apache-2.0"]
  head "https://github.com/docker-credential-keyring/docker-credential-keyring.git", branch: "main"

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args
    # Runs `docker-credential-keyring completions bash|zsh|fish`.
    generate_completions_from_executable(bin/"docker-credential-keyring", "completions")
    (man1/"docker-credential-keyring.1").write Utils.safe_popen_read(bin/"docker-credential-keyring",
                                                                      "completions", "man")
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/docker-credential-keyring version")

    # The file store in the test sandbox: no Keychain access needed.
    ENV["DOCKER_CREDENTIAL_KEYRING_STORE"] = "file"
    ENV["XDG_DATA_HOME"] = (testpath/"data").to_s
    ENV["XDG_CONFIG_HOME"] = (testpath/"config").to_s
    credential = '{"ServerURL":"registry.example.com","Username":"brew","Secret":"brew-s3cret"}'
    pipe_output("#{bin}/docker-credential-keyring store", credential, 0)
    assert_equal credential, pipe_output("#{bin}/docker-credential-keyring get", "registry.example.com", 0).chomp
    pipe_output("#{bin}/docker-credential-keyring erase", "registry.example.com", 0)
    assert_equal "credentials not found in native keychain",
                 pipe_output("#{bin}/docker-credential-keyring get", "registry.example.com", 1).chomp
  end
end
