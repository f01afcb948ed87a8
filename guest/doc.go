// Package guest runs commands inside a Tart guest through one Transport
// interface with two backends: SSH (golang.org/x/crypto/ssh) and the Tart
// guest agent (`tart exec`). Connect picks one automatically or by
// configuration.
//
// Both backends run a command the same way (see plan.go): a short, shell
// neutral command line that means the same to zsh, bash and sh records the
// remote PID in a private temp directory and execs the real command. When
// the command needs an environment or a script, a wrapper file carrying
// both is first uploaded on stdin, so secrets never appear in argv, in logs
// or in SSH env requests (which sshd refuses anyway).
package guest
