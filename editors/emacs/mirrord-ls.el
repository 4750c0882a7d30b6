;;; mirrord-ls.el --- mirrord config files with eglot and mirrord-ls  -*- lexical-binding: t; -*-

;; Emacs 28+ with eglot 1.9+ (built in from Emacs 29; Debian 12: apt-get install elpa-eglot).
;; Load it, then open a mirrord config:
;;
;;   (add-to-list 'load-path "/path/to/mirrord-ls/editors/emacs")
;;   (require 'mirrord-ls)
;;   (setq mirrord-ls-command '("mirrord-ls" "serve"))         ; or the full path
;;   (setq mirrord-ls-settings '(:cluster (:enabled t)))        ; the `mirrordLs' settings
;;   (add-hook 'mirrord-ls-config-mode-hook #'eglot-ensure)    ; start eglot on them
;;
;; mirrord configs (.mirrord/*.EXT, *mirrord.EXT, *.mirrord/*.EXT; EXT json, toml,
;; yaml, yml) open in `mirrord-json-mode', `mirrord-toml-mode' or `mirrord-yaml-mode',
;; derived from the usual JSON/TOML/YAML modes, so eglot can send them, and only them,
;; to mirrord-ls.  The server's `mirrord/status' shows in the mode line.

;;; Code:

(require 'eglot)
(require 'project)

(defgroup mirrord-ls nil "mirrord config files with mirrord-ls." :group 'tools)

(defcustom mirrord-ls-command '("mirrord-ls" "serve")
  "How to start the server."
  :type '(repeat string))

(defcustom mirrord-ls-settings nil
  "The `mirrordLs' settings object, as a plist: (:cluster (:enabled t) :schema \"...\").
Sent as initializationOptions.settings and answered to workspace/configuration."
  :type 'sexp)

(defvar mirrord-ls-status nil "The latest `mirrord/status' (a plist).")

;; Modes: the usual ones, under a name eglot can map to mirrord-ls.
(defalias 'mirrord-ls--json-parent (if (fboundp 'js-json-mode) #'js-json-mode #'js-mode))
(defalias 'mirrord-ls--yaml-parent
  (cond ((fboundp 'yaml-ts-mode) #'yaml-ts-mode) ((fboundp 'yaml-mode) #'yaml-mode) (t #'text-mode)))
(define-derived-mode mirrord-json-mode mirrord-ls--json-parent "mirrord-json"
  "JSON mode for mirrord config files."
  (run-hooks 'mirrord-ls-config-mode-hook))
(define-derived-mode mirrord-toml-mode conf-toml-mode "mirrord-toml"
  "TOML mode for mirrord config files."
  (run-hooks 'mirrord-ls-config-mode-hook))
(define-derived-mode mirrord-yaml-mode mirrord-ls--yaml-parent "mirrord-yaml"
  "YAML mode for mirrord config files."
  (run-hooks 'mirrord-ls-config-mode-hook))
(defvar mirrord-ls-config-mode-hook nil "Run in every mirrord config buffer.")

;; `.mirrord/x.json', `team.mirrord/x.json' and `staging.mirrord.json'.
(dolist (entry '(("json" . mirrord-json-mode) ("toml" . mirrord-toml-mode)
                 ("ya?ml" . mirrord-yaml-mode)))
  (add-to-list 'auto-mode-alist
               (cons (format "\\(?:\\.mirrord/[^/]+\\|mirrord\\)\\.%s\\'" (car entry))
                     (cdr entry))))

;; The workspace root: a VCS root wins; else the folder holding `.mirrord'.
(defun mirrord-ls-project (dir)
  "A transient project rooted at the folder above DIR that holds `.mirrord'."
  (let ((root (locate-dominating-file dir ".mirrord")))
    (and root (cons 'transient (expand-file-name root)))))
(add-hook 'project-find-functions #'mirrord-ls-project 90)

;; The server class: announces the status extension and shows the status.
(defclass eglot-mirrord-ls (eglot-lsp-server) ()
  :documentation "mirrord-ls, with its `mirrord/status' notification.")

(cl-defmethod eglot-client-capabilities :around ((_server eglot-mirrord-ls))
  (let ((caps (cl-call-next-method)))
    (plist-put caps :experimental '(:mirrordStatus t))))

(cl-defmethod eglot-handle-notification
  ((_server eglot-mirrord-ls) (_method (eql mirrord/status)) &rest status)
  (setq mirrord-ls-status status)
  (force-mode-line-update t))

(defun mirrord-ls-mode-line ()
  "The status for the mode line: `mirrord: ⚠ forbidden (staging)'."
  (when mirrord-ls-status
    (let* ((s mirrord-ls-status)
           (health (plist-get s :health))
           (what (or (and (stringp (plist-get s :operator)) (plist-get s :operator))
                     (plist-get s :message)))
           (context (plist-get s :context)))
      (concat " mirrord: "
              (if (eq (plist-get s :busy) t) "…"
                (pcase health ("ok" "✓") ("warning" "⚠") ("error" "✗") (_ "?")))
              (if (stringp what) (concat " " what) "")
              (if (stringp context) (format " (%s)" context) "")))))
(add-to-list 'global-mode-string '(:eval (mirrord-ls-mode-line)) t)

(add-to-list 'eglot-server-programs
             `(((mirrord-json-mode :language-id "json") (mirrord-toml-mode :language-id "toml")
                (mirrord-yaml-mode :language-id "yaml"))
               . ,(lambda (&rest _)
                    `(eglot-mirrord-ls ,@mirrord-ls-command
                                       :initializationOptions
                                       (:settings ,(or mirrord-ls-settings eglot--{}))))))

;; workspace/configuration asks for the `mirrordLs' section: answer with `mirrord-ls-settings'.
(cl-defmethod eglot-handle-request
  ((_server eglot-mirrord-ls) (_method (eql workspace/configuration)) &key items)
  (apply #'vector
         (mapcar (lambda (item)
                   (if (equal (plist-get item :section) "mirrordLs")
                       (or mirrord-ls-settings eglot--{})
                     nil))
                 items)))

(defun mirrord-ls--server ()
  (let ((server (eglot-current-server)))
    (and server (eglot-mirrord-ls-p server) server)))

(defun mirrord-ls--uri ()
  (and buffer-file-name (eglot--path-to-uri buffer-file-name)))

;; Tell the server which config is in front (the status follows it).
(defun mirrord-ls--report-active (&rest _)
  (let ((server (mirrord-ls--server)))
    (when server
      (jsonrpc-notify server :mirrord/activeDocument (list :uri (mirrord-ls--uri))))))
(add-hook 'window-selection-change-functions #'mirrord-ls--report-active)
(add-hook 'window-buffer-change-functions #'mirrord-ls--report-active)

(defun mirrord-ls-recheck ()
  "Ask mirrord-ls to check the cluster of this config again."
  (interactive)
  (let ((server (or (mirrord-ls--server) (user-error "mirrord-ls is not running here"))))
    (setq mirrord-ls-status
          (jsonrpc-request server :workspace/executeCommand
                           (list :command "mirrord-ls.recheck"
                                 :arguments (vector (list :uri (mirrord-ls--uri))))))
    (force-mode-line-update t)
    (message "%s" (string-trim (or (mirrord-ls-mode-line) "")))))

(defun mirrord-ls-show-status ()
  "Show mirrord-ls's status of the active config."
  (interactive)
  (let* ((server (or (mirrord-ls--server) (user-error "mirrord-ls is not running here")))
         (status (jsonrpc-request server :workspace/executeCommand
                                  (list :command "mirrord-ls.showStatus"))))
    (with-help-window "*mirrord-ls status*"
      (princ (plist-get status :tooltip)))))

(provide 'mirrord-ls)
;;; mirrord-ls.el ends here
