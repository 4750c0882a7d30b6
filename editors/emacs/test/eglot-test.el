;;; eglot-test.el --- headless test: eglot + mirrord-ls.el against the real server  -*- lexical-binding: t; -*-

;; emacs --batch -q -l eglot-test.el
;; Env: MIRRORD_LS_BIN, MIRRORD_LS_EMACS_DIR (editors/emacs), MIRRORD_LS_TEST_FILE (the config),
;;      MIRRORD_LS_TEST_CODE, MIRRORD_LS_TEST_LINE (1-based), MIRRORD_LS_TEST_SCHEMA ("" for none),
;;      MIRRORD_LS_TEST_TIMEOUT (seconds, default 30).
;; Prints PASS/FAIL lines; exits 1 on a failure.

(require 'package)
(package-initialize)                    ; Debian's elpa-eglot lives in the system package dir
(add-to-list 'load-path (getenv "MIRRORD_LS_EMACS_DIR"))
(require 'mirrord-ls)
(require 'flymake)

(defvar test-failed 0)
(defvar test-timeout (string-to-number (or (getenv "MIRRORD_LS_TEST_TIMEOUT") "30")))

(defun test-check (ok what &optional detail)
  (if ok
      (princ (format "PASS emacs: %s\n" what))
    (setq test-failed (1+ test-failed))
    (princ (format "FAIL emacs: %s%s\n" what (if detail (format " (%s)" detail) "")))))

(defun test-wait (pred)
  "Process events until PRED is non-nil or the timeout passes; PRED's value."
  (let ((deadline (+ (float-time) test-timeout)) value)
    (while (and (not (setq value (funcall pred))) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    value))

(defun test-diag-code (d)
  (let ((lsp (alist-get 'eglot-lsp-diag (flymake-diagnostic-data d))))
    (and lsp (plist-get lsp :code))))

(setq mirrord-ls-command (list (getenv "MIRRORD_LS_BIN") "serve"))
(let ((schema (or (getenv "MIRRORD_LS_TEST_SCHEMA") "")))
  (setq mirrord-ls-settings
        `(:cluster (:enabled :json-false) ,@(unless (string-empty-p schema) (list :schema schema)))))
(add-hook 'mirrord-ls-config-mode-hook #'eglot-ensure)
(setq eglot-sync-connect t)

(condition-case-unless-debug err
    (let* ((file (getenv "MIRRORD_LS_TEST_FILE"))
           (want-code (getenv "MIRRORD_LS_TEST_CODE"))
           (want-line (string-to-number (getenv "MIRRORD_LS_TEST_LINE")))
           (other (expand-file-name "package.json" (file-name-directory (directory-file-name (file-name-directory file))))))
      ;; The auto-mode-alist patterns.
      (with-current-buffer (find-file-noselect other)
        (test-check (not (derived-mode-p 'mirrord-json-mode)) "package.json is not a mirrord config"
                    (symbol-name major-mode)))
      (switch-to-buffer (find-file-noselect file))
      (test-check (eq major-mode 'mirrord-json-mode) "the config opens in mirrord-json-mode"
                  (symbol-name major-mode))
      ;; `eglot-ensure' connects after the current command; batch mode runs no commands.
      (run-hooks 'post-command-hook)
      (test-check (test-wait (lambda () (and (mirrord-ls--server) (bound-and-true-p flymake-mode))))
                  "eglot connected mirrord-ls, flymake on")
      (let ((root (and (mirrord-ls--server) (project-root (eglot--project (mirrord-ls--server))))))
        (test-check (equal (file-name-as-directory (expand-file-name (or root "")))
                           (file-name-as-directory (file-name-directory (directory-file-name (file-name-directory file)))))
                    "the project root is the folder holding .mirrord" root))
      (let ((found (test-wait
                    (lambda ()
                      (cl-find-if (lambda (d)
                                    (and (equal (test-diag-code d) want-code)
                                         (= (line-number-at-pos (flymake-diagnostic-beg d)) want-line)))
                                  (flymake-diagnostics))))))
        (test-check found (format "flymake diagnostic %s on line %d" want-code want-line)
                    (format "%S" (mapcar (lambda (d) (list (test-diag-code d)
                                                           (line-number-at-pos (flymake-diagnostic-beg d))
                                                           (flymake-diagnostic-text d)))
                                         (flymake-diagnostics))))
        (when found
          ;; eglot 1.9 has its own `eglot-error' type (an :error); later eglots use :error.
          (test-check (memq (flymake-diagnostic-type found) '(:error eglot-error)) "its type is an error"
                      (format "%s" (flymake-diagnostic-type found)))
          (princ (format "  emacs diagnostic: %s\n" (flymake-diagnostic-text found)))))
      (test-check (test-wait (lambda () (and mirrord-ls-status
                                             (string-prefix-p " mirrord: ✗" (mirrord-ls-mode-line)))))
                  "the mode line shows the mirrord/status" (format "%S" (mirrord-ls-mode-line)))
      (princ (format "  emacs mode line:%s\n" (mirrord-ls-mode-line)))
      (mirrord-ls-recheck)
      (test-check (equal (plist-get mirrord-ls-status :document) (mirrord-ls--uri))
                  "mirrord-ls-recheck answers the status of this config"
                  (format "%S" (plist-get mirrord-ls-status :document))))
  (error (test-check nil "the test ran without a Lisp error" (error-message-string err))))

(ignore-errors (eglot-shutdown (mirrord-ls--server)))
(kill-emacs (if (> test-failed 0) 1 0))
