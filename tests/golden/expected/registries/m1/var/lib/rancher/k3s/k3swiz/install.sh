(uploaded from ./bundle/install.sh)
